"""The val-split study replays the search's decisions offline: label fusion per weight, and the visual blend."""
from __future__ import annotations

import numpy as np

from stylist.schema import CLASSES
from training.tune_wild import label_study, rank_row

SKIRT, BAG = CLASSES.index("Skirts"), CLASSES.index("Handbags")


def _row(kind: str, truth: str, det_label: str, clip_cats: list[str]) -> dict:
    """One evidence row: the detector says ``det_label``; the CLIP neighbours have ``clip_cats``; the AE
    neighbours and the head are uninformative; the crop's CLIP vector is orthogonal to every prompt."""
    ids = [f"p{i}" for i in range(len(clip_cats))]
    flat = np.full(len(CLASSES), 1.0 / len(CLASSES))
    return {"kind": kind, "truth": truth, "detected": True, "det_label": det_label, "det_score": 0.9, "head": flat,
            "clip_vec": np.zeros(4, np.float32), "ae_ids": [], "cl_ids": ids, "ids": ids, "cats": clip_cats,
            "ae_sim": np.zeros(len(ids), np.float32), "cl_sim": np.full(len(ids), 0.8, np.float32)}


def test_label_study_scores_every_weight_combination_per_subset():
    rows = [_row("real", "Skirts", "Handbags", ["Skirts"] * 10),  # the detector is wrong, CLIP right
            _row("clutter", "Handbags", "Handbags", ["Handbags"] * 10)]  # both right
    study = label_study(rows, np.eye(len(CLASSES), 4), grid=(0.0, 1.0))
    by_w = {tuple(r["weights"]): r for r in study}
    assert by_w[(1.0, 0.0, 0.0, 0.0, 0.0)]["real"] == 0.0 and by_w[(1.0, 0.0, 0.0, 0.0, 0.0)]["clutter"] == 1.0
    assert by_w[(0.0, 0.0, 0.0, 1.0, 0.0)]["real"] == 1.0 and by_w[(0.0, 0.0, 0.0, 1.0, 0.0)]["mean"] == 1.0
    # detector (0.9 on Handbags) against ten Skirts neighbours at equal weight; smoothed with a 0.02 floor over
    # 13 classes: Handbags 0.686 / Skirts 0.026 (detector), 0.02 / 0.76 (neighbours): 0.0137 < 0.0199
    assert by_w[(1.0, 0.0, 0.0, 1.0, 0.0)]["real"] == 1.0
    assert len(study) == 2 ** 5 - 1 and study[0]["mean"] == 1.0
    assert sum(w > 0 for w in study[0]["weights"]) == 1  # ties go to the simplest combination


def test_rank_row_blends_clip_into_the_ae_order():
    row = {"ids": ["a", "b", "c"], "ae_ids": ["a", "b", "c"], "cats": ["Skirts", "Skirts", "Handbags"],
           "ae_sim": np.array([0.9, 0.8, 0.7], np.float32), "cl_sim": np.array([0.1, 0.2, 0.9], np.float32)}
    assert rank_row(row, 0.0, False, 0.0, "") == [0, 1, 2]
    assert rank_row(row, 1.0, False, 0.0, "") == [2, 1, 0]  # CLIP alone
    # the fused kind preferred: Skirts gain one spread of the blended scores
    assert rank_row(row, 1.0, False, 2.0, "Skirts")[0] in (0, 1)
