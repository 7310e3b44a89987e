"""What the fine-tunes share: the val pairs' gallery and its recalls, on cases small enough to rank by hand."""
from __future__ import annotations

import math

import numpy as np

from training.finetune_loop import gallery_recalls, val_gallery


def test_val_gallery_keeps_one_clean_image_per_product_in_order_of_first_view():
    val = {"kind": ["world", "photo", "catalog", "world", "world", "photo", "catalog"],
           "product": ["b", "cc0-1", "a", "a", "b", "cc0-2", "c"]}
    pairs, first, target = val_gallery(val)
    assert pairs.tolist() == [0, 2, 3, 4, 6]  # photos have no clean image: not queries
    assert first == [0, 2, 6]  # b's first sample, a's, c's
    assert target.tolist() == [0, 1, 1, 0, 2]


def test_gallery_recalls_by_kind_ties_count_against():
    # 12 gallery products; view i's own product is row i, ranked where the scores put it
    scores = np.zeros((4, 12))
    target = np.arange(4)
    scores[0, 0] = 1.0  # first
    scores[1, [1, 5]] = 0.5  # tied with another: second (ties count against)
    scores[2, 2], scores[2, :2], scores[2, 3:11] = 0.1, 0.9, 0.9  # behind 10 others: 11th
    scores[3, 3], scores[3, 0] = 0.4, 0.8  # second
    kinds = np.array(["world", "world", "catalog", "catalog"])
    out = gallery_recalls(scores, target, kinds)
    assert out == {"val_world_R@1": 0.5, "val_world_R@10": 1.0, "val_catalog_R@1": 0.0, "val_catalog_R@10": 0.5}
    assert list(out) == ["val_world_R@1", "val_world_R@10", "val_catalog_R@1", "val_catalog_R@10"]


def test_a_kind_no_view_has_is_left_out_or_nan():
    scores, target, kinds = np.eye(3), np.arange(3), np.array(["world"] * 3)
    assert gallery_recalls(scores, target, kinds) == {"val_world_R@1": 1.0, "val_world_R@10": 1.0}
    kept = gallery_recalls(scores, target, kinds, keep_absent=True)
    assert list(kept) == ["val_world_R@1", "val_world_R@10", "val_catalog_R@1", "val_catalog_R@10"]
    assert math.isnan(kept["val_catalog_R@1"]) and math.isnan(kept["val_catalog_R@10"])
