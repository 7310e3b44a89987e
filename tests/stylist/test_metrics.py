"""Metric functions against cases small enough to check on paper."""
from __future__ import annotations

import math

import numpy as np
import pytest

from stylist import metrics


def _unit(vectors: list[list[float]]) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# Six 2-d points: three "a" near angle 0°, three "b" near 90°, where b0 sits closer to the a's.
#   a0 0°, a1 10°, a2 20°, b0 40°, b1 80°, b2 90°
ANGLES = [0, 10, 20, 40, 80, 90]
LABELS = ["a", "a", "a", "b", "b", "b"]
POINTS = _unit([[math.cos(math.radians(d)), math.sin(math.radians(d))] for d in ANGLES])


def test_l2_normalize():
    x = metrics.l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(x, [[0.6, 0.8], [0.0, 0.0]])
    assert x.dtype == np.float32
    np.testing.assert_allclose(metrics.l2_normalize(np.array([0.0, 5.0])), [0.0, 1.0])


def test_softmax_is_stable_for_large_logits_and_keeps_the_dtype():
    p = metrics.softmax(np.array([[1000.0, 0.0], [0.0, 0.0]], np.float32))
    assert np.allclose(p, [[1.0, 0.0], [0.5, 0.5]]) and p.dtype == np.float32
    q = metrics.softmax(np.array([0.0, math.log(3.0)]))  # a vector: one distribution, e^0 : e^ln3 = 1 : 3
    assert q.dtype == np.float64 and np.allclose(q, [0.25, 0.75])
    cols = metrics.softmax(np.array([[0.0, 0.0], [math.log(3.0), 0.0]]), axis=0)
    assert np.allclose(cols, [[0.25, 0.5], [0.75, 0.5]])


def test_neighbours_by_hand():
    nbrs = metrics.top_k_neighbours(POINTS, POINTS, k=3)
    # a1 (10°): itself, then a0 and a2 (both 10° away; a0 first by index order is not guaranteed), then b0
    assert nbrs[1, 0] == 1 and set(nbrs[1, 1:]) == {0, 2}
    no_self = metrics.top_k_neighbours(POINTS, POINTS, k=2, exclude=np.arange(6))
    # b0 (40°): a2 at 20° away, then a1 at 30° (b1 is 40° away)
    assert no_self[3].tolist() == [2, 1]
    assert all(i not in row for i, row in enumerate(no_self))


def test_precision_at_2_with_and_without_self():
    # k=2, self counted: a0{a0,a1}=1, a1{a1,a0|a2}=1, a2{a2,a1}=1, b0{b0,a2}=.5, b1{b1,b2}=1, b2{b2,b1}=1
    with_self = metrics.category_precision_at_k(POINTS, LABELS, k=2, include_self=True)
    assert with_self == pytest.approx(5.5 / 6)
    # k=2, self excluded: a0{a1,a2}=1, a1{a0,a2}=1, a2{a1, a0|b0 tied at 20°}, b0{a2,a1}=0,
    # b1{b2 (10°), b0 (40°)}=1, b2{b1,b0}=1
    per_query = metrics.category_precision_per_query(POINTS, LABELS, k=2, include_self=False)
    assert per_query[[0, 1, 3, 4, 5]].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert per_query[2] in (0.5, 1.0)


def test_precision_at_5_with_and_without_self():
    # 10 items, 2 classes of 5 on opposite sides of the circle: every neighbour list is one's own class first.
    angles = [0, 5, 10, 15, 20, 180, 185, 190, 195, 200]
    labels = ["x"] * 5 + ["y"] * 5
    pts = _unit([[math.cos(math.radians(d)), math.sin(math.radians(d))] for d in angles])
    # with self: top 5 = self + 4 classmates -> 5/5 for everyone
    assert metrics.category_precision_at_k(pts, labels, k=5, include_self=True) == pytest.approx(1.0)
    # without self: 4 classmates + the nearest item of the other class -> 4/5 for everyone
    assert metrics.category_precision_at_k(pts, labels, k=5, include_self=False) == pytest.approx(0.8)


def test_precision_at_5_from_label_lists():
    retrieved = np.array([["s", "s", "d", "s", "h"], ["d", "d", "d", "d", "d"]])
    # row 1: 3/5 shirts; row 2: 0/5 skirts -> mean 0.3
    assert metrics.precision_at_k(retrieved, ["s", "k"], k=5) == pytest.approx(0.3)
    assert metrics.precision_at_k(retrieved, ["s", "d"], k=2) == pytest.approx((1.0 + 1.0) / 2)


def test_rank_recall_mrr_by_hand():
    scores = np.array(
        [
            [0.9, 0.1, 0.2, 0.3],  # target 0 -> rank 0
            [0.5, 0.4, 0.6, 0.7],  # target 1 -> 3 better -> rank 3
            [0.1, 0.8, 0.8, 0.0],  # target 2 ties with col 1 -> pessimistic rank 1
            [0.2, 0.3, 0.4, 0.5],  # target -1: no detection -> miss
        ]
    )
    ranks = metrics.rank_of_target(scores, [0, 1, 2, -1])
    assert ranks.tolist() == [0, 3, 1, -1]
    assert metrics.recall_at_k(ranks, 1) == pytest.approx(1 / 4)
    assert metrics.recall_at_k(ranks, 2) == pytest.approx(2 / 4)
    assert metrics.recall_at_k(ranks, 10) == pytest.approx(3 / 4)  # the miss never counts
    assert metrics.mrr(ranks) == pytest.approx((1 + 1 / 4 + 1 / 2 + 0) / 4)


def test_recall_at_10_on_paper():
    # 5 queries with ranks 0, 9, 10, 25 and a miss: ranks 0 and 9 are inside the first ten.
    ranks = [0, 9, 10, 25, -1]
    assert metrics.recall_at_k(ranks, 10) == pytest.approx(2 / 5)
    assert metrics.recall_at_k(ranks, 11) == pytest.approx(3 / 5)
    assert metrics.mrr(ranks) == pytest.approx((1 + 1 / 10 + 1 / 11 + 1 / 26) / 5)


def test_degenerate_model_scores_zero_not_one():
    scores = np.zeros((3, 20))  # every item tied: a constant embedding must not look perfect
    ranks = metrics.rank_of_target(scores, [0, 5, 19])
    assert metrics.recall_at_k(ranks, 10) == 0.0
    relevant = np.zeros((3, 20), dtype=bool)
    relevant[:, 0] = True
    assert metrics.recall_at_k_multi(scores, relevant, 10) == 0.0


def test_recall_at_k_multi():
    scores = np.array([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]])
    relevant = np.array([[False, False, True, True], [True, True, False, False]])
    # row 0: best relevant at rank 2; row 1: best relevant (0.2) at rank 2
    assert metrics.recall_at_k_multi(scores, relevant, 2) == 0.0
    assert metrics.recall_at_k_multi(scores, relevant, 3) == 1.0
    relevant[1] = False  # a query with nothing relevant is a failure
    assert metrics.recall_at_k_multi(scores, relevant, 4) == 0.5


def test_average_precision():
    # relevant at positions 1 and 3: (1/1 + 2/3) / 2
    assert metrics.average_precision([True, False, True, False]) == pytest.approx((1 + 2 / 3) / 2)
    assert metrics.average_precision([True, False, True], n_relevant=4) == pytest.approx((1 + 2 / 3) / 4)
    assert metrics.average_precision([False, False]) == 0.0


def test_zero_shot_top1():
    images = _unit([[1, 0], [0, 1], [1, 1]])
    # two classes, two templates each; class 0 ~ x axis, class 1 ~ y axis
    prompts = np.array([[[1, 0.1], [1, -0.1]], [[0.1, 1], [-0.1, 1]]], dtype=np.float32)
    scores = metrics.zero_shot_scores(images, prompts)
    assert scores.shape == (3, 2)
    assert metrics.top1_accuracy(scores, [0, 1, 1]) == pytest.approx(2 / 3)  # the diagonal one ties -> class 0


def test_box_iou_and_best_match():
    assert metrics.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert metrics.box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert metrics.box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    preds = [(5, 0, 15, 10), (1, 0, 11, 10), (0, 0, 9, 10)]
    # IoUs: 1/3, 9/11, 0.9 -> the third
    assert metrics.best_match((0, 0, 10, 10), preds) == 2
    assert metrics.best_match((0, 0, 10, 10), preds[:1]) == -1  # 1/3 < 0.5 -> a miss
    assert metrics.best_match((0, 0, 10, 10), []) == -1


def test_sizes_percentiles_targets():
    assert metrics.index_mb_per_10k(512) == pytest.approx(20.48)
    assert metrics.index_mb_per_10k(512, 2) == pytest.approx(10.24)
    assert metrics.percentile_ms([0.01, 0.02, 0.03]) == pytest.approx(20.0)
    assert metrics.meets(0.9, 0.85) is True
    assert metrics.meets(0.8, 0.85) is False
    assert metrics.meets(120.0, 150.0, higher_is_better=False) is True
    assert metrics.meets(float("nan"), 0.5) is None
    assert metrics.meets(0.5, None) is None


def test_per_class_mean():
    assert metrics.per_class_mean(np.array([1.0, 0.0, 0.5]), ["b", "a", "b"]) == {"a": 0.0, "b": 0.75}
