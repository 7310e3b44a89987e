"""The val study of a real photo's views: the context-weight replay picks the view that names the garment."""
from __future__ import annotations

import numpy as np

from stylist.schema import CLASSES
from training.study_views import context_study, union_box

SHIRT, BAG = CLASSES.index("Shirts & Tops"), CLASSES.index("Handbags")


def _view(namer_class: int) -> dict:
    """A view whose namer is sure of ``namer_class``; every other source uninformative."""
    namer = np.full(len(CLASSES), 0.01)
    namer[namer_class] = 1.0
    return {"head": np.full(len(CLASSES), 1.0 / len(CLASSES)), "clip_vec": np.zeros(4, np.float32),
            "ae": [], "cl": [], "namer": namer / namer.sum()}


def _row(kind: str, box_says: int, whole_says: int) -> dict:
    return {"kind": kind, "truth": "Shirts & Tops", "n_dets": 1, "one_garment": True, "det_label": "Handbags",
            "det_score": 0.9, "views": {"box": _view(box_says), "whole": _view(whole_says)}}


def test_context_study_prefers_the_whole_photo_when_the_box_is_a_part():
    rows = [_row("real", BAG, SHIRT), _row("real", BAG, SHIRT), _row("composite", SHIRT, SHIRT),
            _row("clutter", BAG, SHIRT)]  # a board item never counts
    sources = (("box", "namer"), ("box", "detector"), ("whole", "namer"))
    study = context_study(rows, np.eye(len(CLASSES), 4), grid=(0.0, 1.0), sources=sources)
    assert len(study) == 2 ** 3 - 1
    by_w = {tuple(r["weights"].values()): r for r in study}
    assert by_w[(1.0, 0.0, 0.0)]["real"] == 0.0 and by_w[(1.0, 0.0, 0.0)]["composite"] == 1.0
    assert by_w[(0.0, 0.0, 1.0)]["mean"] == 1.0 and by_w[(0.0, 1.0, 0.0)]["mean"] == 0.0  # the detector says bag
    assert study[0]["weights"] == {"box.namer": 0.0, "box.detector": 0.0, "whole.namer": 1.0}  # simplest best


def test_union_box_spans_all_boxes():
    assert union_box([(10, 20, 30, 40), (5, 25, 50, 35)]) == (5.0, 20.0, 50.0, 40.0)
