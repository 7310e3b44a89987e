"""Drawn-product boards: every drawn product is labelled with a tight box of its ink, and nothing else is drawn."""
from __future__ import annotations

import numpy as np

from stylist.schema import CLASSES
from training.data.drawn import CATEGORIES, draw_item, render_drawn_board
from training.data.wild_dataset import parse_counts, render


def _ink(board) -> np.ndarray:
    a = np.asarray(board, dtype=np.int16)
    return np.abs(a - a[0, 0]).sum(axis=2) > 0  # the corner is paper: products never touch it in these seeds


def test_boxes_cover_all_ink_tightly():
    for seed in range(12):
        board, rec = render_drawn_board(None, "val", 384, np.random.default_rng(seed))
        assert max(board.size) == 384 and 1 <= len(rec["boxes"]) <= 4
        ink = _ink(board)
        covered = np.zeros_like(ink)
        for b in rec["boxes"]:
            assert b["category"] in CLASSES
            x0, y0, x1, y1 = b["box"]
            inside = ink[y0:y1, x0:x1]
            assert inside.any(axis=0)[[0, -1]].all() and inside.any(axis=1)[[0, -1]].all()  # ink on every edge
            covered[y0:y1, x0:x1] = True
        assert not (ink & ~covered).any()  # no ink outside the labelled boxes


def test_every_category_draws_something_and_shapes_vary():
    rng = np.random.default_rng(0)
    for category in CATEGORIES:
        a = np.asarray(draw_item(category, (200, 30, 40), 96, rng))
        b = np.asarray(draw_item(category, (200, 30, 40), 96, rng))
        assert (a != 255).any(axis=2).mean() > 0.05, category
        assert (a != b).any(), category  # jittered: not one fixed picture


def test_drawn_is_a_dataset_kind_and_deterministic():
    assert parse_counts("drawn=3,clutter=1") == {"drawn": 3, "clutter": 1}
    a, ra = render(None, "drawn", "train", 4, 256)
    b, rb = render(None, "drawn", "train", 4, 256)
    c, _ = render(None, "drawn", "val", 4, 256)
    assert ra == rb and np.array_equal(np.asarray(a), np.asarray(b))
    assert not (a.size == c.size and np.array_equal(np.asarray(a), np.asarray(c)))
