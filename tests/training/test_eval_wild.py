"""The in-the-wild eval's pure parts: majority vote, one-to-one box matching, the table rows."""
from __future__ import annotations

import math

from training.eval_wild import TARGETS, flat_checks, majority, match_boxes


def test_majority_ignores_empty_labels_and_breaks_ties_by_first_seen():
    assert majority(["Skirts", "", "Shoes", "Shoes", "Skirts"]) == "Skirts"
    assert majority(["", "Pants", "Hats", "Hats"]) == "Hats"
    assert majority(["", ""]) == "" and majority([]) == ""


def test_match_boxes_is_one_to_one_in_score_order():
    truths = [(0, 0, 10, 10), (20, 0, 30, 10), (50, 50, 60, 60)]
    preds = [(0, 0, 10, 11), (1, 0, 10, 10), (21, 0, 31, 10)]  # two preds on the first truth
    assert match_boxes(truths, preds) == [0, 2, -1]
    assert match_boxes(truths, []) == [-1, -1, -1]
    assert match_boxes([(0, 0, 10, 10)], [(5, 0, 15, 10)]) == [-1]  # IoU 1/3 < 0.5


def test_flat_checks_cover_every_target_and_leave_missing_parts_empty():
    rows = flat_checks({"real": {"detected": 0.9, "label_accuracy": 0.5}, "boards": {}})
    keys = {k for k, *_ in rows}
    assert {f"wild.{k}" for k in TARGETS} <= keys
    by_key = {k: (v, t) for k, _, v, t in rows}
    assert by_key["wild.real.detected"] == (0.9, 0.95)
    assert by_key["wild.boards.recall"][0] is None and by_key["wild.composites.recall_at_10"] == (None, 0.80)
    assert math.isclose(by_key["wild.real.label_accuracy"][0], 0.5)
