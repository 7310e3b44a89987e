"""What the fine-tunes share: the in-batch InfoNCE, the val pairs' gallery and its recalls, on cases small enough
to compute by hand."""
from __future__ import annotations

import math

import numpy as np
import torch

from training.finetune_loop import contrastive_loss, gallery_recalls, val_gallery


def _infonce_by_hand(a: np.ndarray, b: np.ndarray, same: np.ndarray, t: float) -> float:
    """Each row's -log softmax of its own pair, the other pairs of its product left out; both directions."""
    def one_way(s: np.ndarray) -> float:
        losses = []
        for i, row in enumerate(s):
            keep = ~same[i] | (np.arange(len(row)) == i)
            losses.append(np.log(np.exp(row[keep]).sum()) - row[i])
        return float(np.mean(losses))

    s = a @ b.T / t
    return 0.5 * (one_way(s) + one_way(s.T))


def test_contrastive_loss_matches_the_formula_with_and_without_products():
    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 8, generator=g, dtype=torch.float64), dim=1)
    b = torch.nn.functional.normalize(torch.randn(6, 8, generator=g, dtype=torch.float64), dim=1)
    pid = torch.tensor([0, 1, 0, 2, 1, 3])
    same = pid[:, None] == pid[None, :]
    got = float(contrastive_loss(a, b, 0.1, same=same))
    assert np.isclose(got, _infonce_by_hand(a.numpy(), b.numpy(), same.numpy(), 0.1), rtol=1e-12)
    plain = float(contrastive_loss(a, b, 0.1))
    assert np.isclose(plain, _infonce_by_hand(a.numpy(), b.numpy(), np.eye(6, dtype=bool), 0.1), rtol=1e-12)
    assert got < plain  # fewer negatives
    # a mask with nothing to mask (each pair its own product) is the plain loss, bit for bit
    assert torch.equal(contrastive_loss(a, b, 0.1, same=torch.eye(6, dtype=torch.bool)), contrastive_loss(a, b, 0.1))


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
