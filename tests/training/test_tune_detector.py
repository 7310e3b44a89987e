"""Tuning the detector's serving settings: every setting is scored on stored network passes, by hand-checkable rules."""
from __future__ import annotations

import numpy as np

from stylist.models.onnx_detector import Candidates, OnnxDetector
from stylist.schema import CLASSES
from training.tune_detector import score_setting, tune


def _cand(rows: list[tuple[float, tuple[float, float, float, float]]], w: int = 100, h: int = 100) -> Candidates:
    boxes = np.array([b for _, b in rows], dtype=np.float32).reshape(-1, 4)
    return Candidates(boxes, np.array([s for s, _ in rows], dtype=np.float32), np.zeros(len(rows), int),
                      (1.0, 1.0, 0.0, 0.0), w, h)


def _stored():
    garment = (10, 10, 90, 90)
    photo_512 = _cand([(0.15, (40, 40, 60, 60))])  # only a weak part at the serving size
    photo_256 = _cand([(0.6, (12, 8, 88, 92))])  # the whole garment when zoomed out
    board = _cand([(0.9, (0, 0, 30, 30)), (0.5, (50, 50, 80, 80)), (0.3, (0, 60, 20, 95))])
    small = _cand([])
    return [("photo", {512: photo_512, 256: photo_256}, [garment]),
            ("clutter", {512: board, 256: small}, [(0, 0, 30, 30), (50, 50, 80, 80)]),
            ("board", {512: board, 256: small}, [(0, 0, 30, 30), (50, 50, 80, 80), (60, 0, 90, 20)])]


def test_scores_follow_the_settings():
    det = OnnxDetector(None, CLASSES, imgsz=512, conf=0.25)
    stored = _stored()
    plain = score_setting(det, stored)
    assert plain["photo_detected"] == 0.0 and plain["photo_box_right"] == 0.0
    # clutter: 3 boxes above 0.25, 2 true -> R 1, P 2/3; board: 2 of 3 truths found by 3 boxes
    assert plain["clutter_recall"] == 1.0 and plain["clutter_precision"] == round(2 / 3, 4)
    assert plain["board_recall"] == round(2 / 3, 4) and plain["board_precision"] == round(2 / 3, 4)
    det.fallback_conf, det.fallback_min_area = 0.05, 0.02
    second = score_setting(det, stored)
    assert second["photo_detected"] == 1.0 and second["photo_box_right"] == 0.0  # the part, not the garment
    assert second["photo_second_chance"] == 1.0
    det.zoom_imgsz, det.zoom_min_area = 256, 0.4
    zoomed = score_setting(det, stored)
    assert zoomed["photo_box_right"] == 1.0 and zoomed["photo_second_chance"] == 0.0
    assert zoomed["clutter_precision"] == plain["clutter_precision"]


def test_tune_tries_each_combination_and_restores_the_detector():
    det = OnnxDetector(None, CLASSES, imgsz=512, conf=0.25)
    grid = {"conf": (0.25, 0.4), "iou": (0.5,), "fallback_conf": (0.0,), "fallback_min_area": (0.02,),
            "zoom_imgsz": (0, 256), "zoom_min_area": (0.4,), "zoom_always": (True,), "contain": (0.0,)}
    rows = tune(det, _stored(), grid)
    assert len(rows) == 4 and det.conf == 0.25 and det.zoom_imgsz == 0
    at_04 = next(r for r in rows if r["conf"] == 0.4 and r["zoom_imgsz"] == 0)
    # at 0.4 the false 0.3 box goes: precision 1, recall unchanged
    assert at_04["clutter_precision"] == 1.0 and at_04["board_precision"] == 1.0
    assert at_04["board_recall"] == round(2 / 3, 4)
