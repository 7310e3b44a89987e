"""Training the item check (training.train_verifier): rows to features, the fit, the val table."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.verify import layout
from training.train_verifier import features, fit, measure, study


def row(image: int, box, score: float, rank: int, item: bool, kind: str = "clutter", clip=(0.0, 0.0)) -> dict:
    return {"kind": kind, "image": image, "size": (100, 100), "box": box, "score": score, "rank": rank,
            "item": item, "clip": np.asarray(clip, np.float32)}


def test_features_read_each_box_s_layout_among_its_own_picture_s_boxes():
    rows = [row(0, (0, 0, 50, 50), 0.9, 0, True), row(0, (10, 10, 20, 20), 0.3, 1, False),
            row(1, (10, 10, 20, 20), 0.8, 0, True)]  # the same box, alone in the next picture
    x = features(rows, ("inside_better", "log_area"))
    assert x.shape == (3, 1 + 2 + 2)
    want0 = layout([(0, 0, 50, 50), (10, 10, 20, 20)], (100, 100))
    assert x[:2, 1:3] == pytest.approx(want0[:, [0, 2]])
    assert x[2, 1] == 0.0 and x[2, 2] == pytest.approx(np.log(0.01))  # not inside the other picture's box
    assert features(rows).shape == (3, 1 + 2)  # no layout: the score's logit and the vector


def test_the_fit_separates_items_from_parts_by_the_layout():
    rng = np.random.default_rng(0)
    rows = []
    for k in range(60):
        rows.append(row(k, (0, 0, 60, 60), 0.9, 0, True, clip=rng.normal(size=2)))
        rows.append(row(k, (5, 5, 25, 25), 0.5, 1, False, clip=rng.normal(size=2)))  # a part of the first
        rows.append(row(k, (70, 70, 95, 95), 0.5, 2, True, clip=rng.normal(size=2)))  # an item apart
    x, y = features(rows, ("inside_better",)), np.array([r["item"] for r in rows], float)
    w, b = fit(x, y, 1e-4)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert (p[1::3] < 0.5).all() and (p[2::3] > 0.5).all()
    assert w[1] < 0  # lying inside a better box speaks against an item


def test_the_val_table_always_keeps_the_best_box_and_counts_per_kind():
    rows = [row(0, (0, 0, 50, 50), 0.9, 0, True), row(0, (60, 60, 90, 90), 0.2, 1, True),
            row(0, (5, 5, 15, 15), 0.07, 2, False)]
    truths = {"clutter": 3, "board": 0, "composite": 0, "photo": 0}
    m = measure(rows, truths, np.array([True, True, False]))
    assert m["clutter"] == {"recall": round(2 / 3, 4), "precision": 1.0}
    table = study(rows, truths, np.array([0.0, 0.9, 0.9]))  # the best box refused by the check: kept anyway
    at = next(r for r in table if r["conf"] == 0.05 and r["threshold"] == 0.5)
    assert at["clutter"] == {"recall": round(2 / 3, 4), "precision": round(2 / 3, 4)}
    at = next(r for r in table if r["conf"] == 0.1 and r["threshold"] == 0.5)
    assert at["clutter"] == {"recall": round(2 / 3, 4), "precision": 1.0}
