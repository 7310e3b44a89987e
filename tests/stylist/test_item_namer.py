"""Naming a photo's items (stylist.item_namer): the detector's own class, the neighbours, the whole photo as
context for flagged items, and the weights chosen by whether a garment namer is bundled."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.labels import FusionWeights

CLASSES = ("Shirts & Tops", "Skirts", "Handbags", "Shoes")


class _Head:
    """An embedder's category head as the search sees it: weights, bias and class names (no model)."""

    def __init__(self, classes):
        self.classes = classes
        self.head = (np.eye(len(classes), dtype=np.float32) * 4.0, np.zeros(len(classes), np.float32))


class _Hit:
    def __init__(self, category: str, similarity: float):
        self.meta, self.similarity = {"category": category}, similarity


def test_item_namer_uses_the_detectors_own_class_and_the_neighbours():
    from stylist.item_namer import ItemNamer
    from stylist.results import Detection

    w = FusionWeights(detector=1.0, head=0.0, neighbours=0.0, clip_neighbours=1.0, zero_shot=0.0)
    namer = ItemNamer(_Head(CLASSES), None, CLASSES, w, k=3)
    named = Detection(0, "Skirts", 0.4, (0, 0, 1, 1), detector_label="Handbags")  # named once before
    fresh = Detection(1, "Handbags", 0.4, (0, 0, 1, 1))
    near = [_Hit("Skirts", 0.9), _Hit("Skirts", 0.8), _Hit("Handbags", 0.5), _Hit("Handbags", 0.99)]  # 4th: beyond k
    vecs = np.zeros((3, 4), np.float32)
    out = namer.name([named, fresh, None], vecs, None, [[], [], []], [near, near, near])
    # detector: Handbags 0.4 / others 0.2 each; CLIP neighbours: Skirts 1.702, Handbags 0.501 of 2.203
    assert [o.label for o in out] == ["Skirts", "Skirts", "Skirts"]
    assert out[0].detector_label == out[1].detector_label == "Handbags" and out[2].detector_label == ""
    det = np.array([0.2, 0.2, 0.4, 0.2])
    clip = np.array([0.0, 1.702, 0.501, 0.0])

    def smooth(p):
        p = (1 - 0.02 * 4) * p / p.sum() + 0.02
        return p / p.sum()

    post = smooth(det) * smooth(clip)
    assert out[0].confidence == pytest.approx(post.max() / post.sum(), rel=1e-6)
    assert out[0].confidence == out[1].confidence  # naming twice = naming once
    assert out[2].confidence == pytest.approx(smooth(clip).max())  # the whole photo: no detector vote


def test_item_namer_adds_the_whole_photo_only_for_flagged_items():
    from stylist.item_namer import ItemNamer, View
    from stylist.results import Detection

    base = FusionWeights(detector=1.0, head=0.0)
    ctx = FusionWeights(detector=1.0, head=0.0, context_head=2.0)
    namer = ItemNamer(_Head(CLASSES), None, CLASSES, base, k=3, context_weights=ctx)
    dets = [Detection(0, "Handbags", 0.6, (0, 0, 1, 1)), Detection(1, "Handbags", 0.6, (0, 0, 1, 1))]
    vecs = np.zeros((2, 4), np.float32)
    whole = View(np.array([0.0, 1.0, 0.0, 0.0], np.float32), None)  # head logits 4 on Skirts
    out = namer.name(dets, vecs, None, [[], []], [[], []], context=whole, in_context=[True, False])
    assert [o.label for o in out] == ["Skirts", "Handbags"]
    head = np.exp([0.0, 4.0, 0.0, 0.0])
    head /= head.sum()

    def smooth(p):
        p = (1 - 0.02 * 4) * p / p.sum() + 0.02
        return p / p.sum()

    post = smooth(np.array([0.4 / 3, 0.4 / 3, 0.6, 0.4 / 3])) * smooth(head) ** 2
    assert out[0].confidence == pytest.approx(post.max() / post.sum(), rel=1e-5)
    assert out[1].confidence == pytest.approx(smooth(np.array([0.4 / 3, 0.4 / 3, 0.6, 0.4 / 3])).max())
    # no context view given: the flags are ignored
    plain = namer.name(dets, vecs, None, [[], []], [[], []], in_context=[True, True])
    assert [o.label for o in plain] == ["Handbags", "Handbags"]


def test_item_namer_weights_follow_whether_a_garment_namer_is_there():
    from stylist.item_namer import ItemNamer
    from stylist.labels import CONTEXT_WEIGHTS, CONTEXT_WEIGHTS_WITHOUT_NAMER, WEIGHTS, WEIGHTS_WITHOUT_NAMER

    class _Namer:
        def probs(self, crops):
            return np.full((len(crops), len(CLASSES)), 1.0 / len(CLASSES))

    with_namer = ItemNamer(_Head(CLASSES), None, CLASSES, garment_namer=_Namer())
    without = ItemNamer(_Head(CLASSES), None, CLASSES)
    assert (with_namer.weights, with_namer.context_weights) == (WEIGHTS, CONTEXT_WEIGHTS)
    assert (without.weights, without.context_weights) == (WEIGHTS_WITHOUT_NAMER, CONTEXT_WEIGHTS_WITHOUT_NAMER)
    assert WEIGHTS.namer > 0 and CONTEXT_WEIGHTS.context_namer > 0 and WEIGHTS_WITHOUT_NAMER.namer == 0
    # without a namer the context still has a whole-photo source, so a one-garment photo still uses it
    assert CONTEXT_WEIGHTS_WITHOUT_NAMER.context_head > 0
