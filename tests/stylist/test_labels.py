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


def test_zero_shot_is_a_softmax_of_scaled_cosines():
    from stylist.labels import zero_shot_probs

    classes = np.eye(3)[:, :3]  # one unit vector per class
    img = np.array([[0.6, 0.8, 0.0]])
    p = zero_shot_probs(img, classes, scale=10.0)[0]
    e = np.exp([6.0, 8.0, 0.0])
    assert p == pytest.approx(e / e.sum())
    assert zero_shot_probs(img, classes, scale=0.0)[0] == pytest.approx([1 / 3] * 3)


def test_clip_evidence_outvotes_a_wrong_detector_on_a_photo():
    """The detector calls a shirt on a bed a handbag; the CLIP neighbours and zero-shot say shirt."""
    det = detector_probs("Handbags", 0.6, CLASSES)
    head = np.array([0.3, 0.1, 0.4, 0.2])
    clip_near = neighbour_probs(["Shirts & Tops"] * 7 + ["Handbags"] * 3, [0.7] * 10, CLASSES)
    zero = np.array([0.7, 0.1, 0.1, 0.1])
    w = FusionWeights(detector=1.0, head=1.0, neighbours=0.0, clip_neighbours=1.0, zero_shot=1.0)
    out = fuse(CLASSES, det, head, weights=w, clip_neighbours=clip_near, zero_shot=zero)
    assert (out.label, out.detector_label, out.clip_label, out.zero_shot_label) == (
        "Shirts & Tops", "Handbags", "Shirts & Tops", "Shirts & Tops")
    # the same evidence with the CLIP sources switched off keeps the detector + head answer
    assert fuse(CLASSES, det, head, weights=FusionWeights(), clip_neighbours=clip_near, zero_shot=zero).label == "Handbags"


def test_fused_probability_is_the_normalised_product_of_experts():
    a = np.array([0.5, 0.2, 0.2, 0.1])
    b = np.array([0.1, 0.6, 0.2, 0.1])
    w = FusionWeights(detector=0.0, head=2.0, neighbours=0.0, clip_neighbours=1.0, zero_shot=0.0)
    out = fuse(CLASSES, head=a, clip_neighbours=b, weights=w)
    floor = 0.02  # stylist.labels.FLOOR: every class keeps at least this share before fusing

    def smooth(p):
        p = (1 - floor * 4) * p / p.sum() + floor
        return p / p.sum()

    post = smooth(a) ** 2 * smooth(b)
    post /= post.sum()
    assert out.label == CLASSES[int(post.argmax())] == "Shirts & Tops"
    assert out.confidence == pytest.approx(post.max())
    order = np.argsort(-post)  # the runner-up: how close the fusion came to its second choice
    assert out.runner_up == CLASSES[int(order[1])] != out.label
    assert out.runner_up_confidence == pytest.approx(post[order[1]])


def test_expand_box_scales_about_the_centre_and_clips_to_the_image():
    from stylist.labels import expand_box

    assert expand_box((40, 40, 60, 80), 1.5, (100, 100)) == pytest.approx((35, 30, 65, 90))
    assert expand_box((0, 10, 50, 90), 2.0, (80, 100)) == pytest.approx((0, 0, 75, 100))


def test_context_sources_count_only_with_their_weight_and_unknown_sources_are_refused():
    det = detector_probs("Handbags", 0.9, CLASSES)
    whole = np.array([0.1, 0.8, 0.05, 0.05])  # the whole photo: a skirt
    assert fuse(CLASSES, det, context_head=whole).label == "Handbags"  # FusionWeights() ignores the context
    w = FusionWeights(detector=1.0, head=0.0, context_head=2.0)
    out = fuse(CLASSES, det, weights=w, context_head=whole)
    assert (out.label, out.detector_label, out.context_label) == ("Skirts", "Handbags", "Skirts")
    with pytest.raises(ValueError, match="unknown"):
        fuse(CLASSES, det, whole_photo=whole)
    shoes = np.array([0.05, 0.05, 0.1, 0.8])  # the whole photo's namer, when present, is the one shown
    both = fuse(CLASSES, det, weights=w, context_head=whole, context_namer=shoes)
    assert both.context_label == "Shoes"
