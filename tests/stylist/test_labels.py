"""Fused item labels: each source's vote, the product-of-experts decision and its edge cases."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.labels import FusionWeights, detector_probs, fuse, neighbour_probs

CLASSES = ("Shirts & Tops", "Skirts", "Handbags", "Shoes")


def test_detector_probs_puts_its_score_on_its_class_and_spreads_the_rest():
    p = detector_probs("Skirts", 0.7, CLASSES)
    assert p[1] == pytest.approx(0.7)
    assert p[[0, 2, 3]] == pytest.approx([0.1, 0.1, 0.1])
    assert detector_probs("Gloves", 0.9, CLASSES) is None


def test_neighbour_vote_is_similarity_weighted_and_skips_unknown_categories():
    p = neighbour_probs(["Skirts", None, "Handbags", "Skirts"], [0.9, 0.99, 0.5, 0.8], CLASSES)
    assert p.argmax() == 1
    assert p[1] > p[2] > 0 and p[0] == 0
    assert neighbour_probs([None, ""], [0.9, 0.9], CLASSES) is None
    only_first = neighbour_probs(["Shoes", "Skirts", "Skirts"], [0.9, 0.9, 0.9], CLASSES, k=1)
    assert only_first.argmax() == 3 and only_first[1] == 0


def test_two_agreeing_sources_outvote_a_confident_detector():
    det = detector_probs("Handbags", 0.9, CLASSES)  # the skirt-called-a-handbag case
    head = np.array([0.05, 0.8, 0.1, 0.05])
    knn = neighbour_probs(["Skirts"] * 8 + ["Handbags"] * 2, [0.8] * 10, CLASSES)
    out = fuse(CLASSES, det, head, knn, FusionWeights(1.0, 1.0, 1.0))
    assert (out.label, out.detector_label, out.head_label, out.neighbour_label) == ("Skirts", "Handbags", "Skirts", "Skirts")
    assert 0.5 < out.confidence <= 1.0


def test_weights_decide_and_a_zero_weight_switches_a_source_off():
    det = detector_probs("Handbags", 0.9, CLASSES)
    head = np.array([0.05, 0.8, 0.1, 0.05])
    assert fuse(CLASSES, det, head, weights=FusionWeights(detector=1.0, head=0.0)).label == "Handbags"
    assert fuse(CLASSES, det, head, weights=FusionWeights(detector=0.0, head=1.0)).label == "Skirts"
    assert fuse(CLASSES, det).label == "Handbags"  # a single source is its own argmax
    with pytest.raises(ValueError):
        fuse(CLASSES)


def test_a_zero_probability_never_vetoes_a_class():
    head = np.array([0.0, 1.0, 0.0, 0.0])
    knn = np.array([0.0, 0.0, 0.0, 5.0])
    det = detector_probs("Shoes", 0.95, CLASSES)
    out = fuse(CLASSES, det, head, knn, FusionWeights(1.0, 1.0, 1.0))
    assert out.label == "Shoes" and np.isfinite(out.confidence)
