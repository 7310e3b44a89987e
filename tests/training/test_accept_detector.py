"""Acceptance numbers of detector candidates: recall, precision and label accuracy per kind, by hand-checkable rules."""
from __future__ import annotations

from dataclasses import dataclass

from training.accept_detector import score, summarise


@dataclass
class _Det:
    box: tuple
    label: str


def test_score_counts_found_served_and_labels_per_kind():
    truth = [{"box": [0, 0, 10, 10], "category": "Pants"}, {"box": [20, 20, 30, 30], "category": "Shoes"}]
    served = {"a": [_Det((0, 0, 10, 10), "Pants"), _Det((50, 50, 60, 60), "Hats")],  # 1 of 2 found, 1 wrong box
              "b": [_Det((20, 21, 30, 30), "Hats"), _Det((0, 0, 10, 9), "Pants")]}  # both found, 1 label wrong
    pictures = [("clutter", "a", truth), ("clean", "b", truth)]
    out = score(pictures, lambda key: served[key])
    assert out["clutter"]["recall"] == 0.5 and out["clutter"]["precision"] == 0.5 and out["clutter"]["label"] == 1.0
    assert out["clean"]["recall"] == 1.0 and out["clean"]["precision"] == 1.0 and out["clean"]["label"] == 0.5
    assert "drawn" not in out


def test_halves_split_the_pictures_and_add_up():
    rows = [(2, 2, 2, 2), (2, 0, 1, 0), (4, 3, 3, 1), (1, 1, 2, 1)]
    out = summarise(rows)
    assert out["pictures"] == 4 and out["items"] == 9 and out["recall"] == round(6 / 9, 4)
    assert out["precision"] == round(6 / 8, 4) and out["label"] == round(4 / 6, 4)
    # four one-item pictures, two found: each half holds two, so the halves' recalls average the total
    even = summarise([(1, 1, 1, 1), (1, 1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0)], seed=3)
    assert len(even["halves"]) == 2 and even["recall"] == 0.5
    assert {h["recall"] for h in even["halves"]} <= {0.0, 0.5, 1.0}
    assert sum(h["recall"] for h in even["halves"]) == 1.0
