"""The val studies' evidence loop (training.val_evidence): which detection each truth is, picture by picture."""
from __future__ import annotations

import io
from types import SimpleNamespace

from PIL import Image

from stylist.results import Detection
from training.val_evidence import ValPicture, collect_rows, matched_items

HAT, BAG = (10.0, 10.0, 110.0, 110.0), (200.0, 50.0, 300.0, 200.0)


def _det(box, score=0.9, index=0) -> Detection:
    return Detection(index=index, label="Hats", score=score, box=box)


def test_a_real_photo_is_its_one_truth_with_the_best_detection_or_none():
    truth = {"category": "Hats", "box": None}
    assert matched_items("real", [truth], [_det(BAG), _det(HAT, 0.5, 1)]) == [(truth, 0)]
    assert matched_items("real", [truth], []) == [(truth, None)]


def test_a_boards_truths_are_matched_by_overlap_and_the_unmatched_left_out():
    hat, bag = {"category": "Hats", "box": HAT}, {"category": "Handbags", "box": BAG}
    shifted = (BAG[0] + 60, BAG[1], BAG[2] + 60, BAG[3])  # IoU 0.25 with the bag: not it
    assert matched_items("clutter", [hat, bag], [_det(shifted), _det(HAT, 0.5, 1)]) == [(hat, 1)]
    assert matched_items("composite", [hat, bag], []) == []


def test_rows_come_from_each_picture_as_the_served_detector_sees_it():
    from stylist.config import load_config
    from stylist.models import load_detector
    from tests.helpers.bot_catalog import make_grid_board

    board = make_grid_board([("Dresses", "red"), ("Handbags", "blue"), ("Shoes", "black"), ("Hats", "green")])
    img = Image.open(io.BytesIO(board.jpeg)).convert("RGB")
    detector = load_detector(load_config(env={}))
    stylist = SimpleNamespace(detector=detector, load_image=lambda path: img)  # the real detector, no index
    truths = [{"category": d.label, "box": d.box} for d in board.items]
    seen: list[ValPicture] = []

    def rows_of(pic: ValPicture) -> list[dict]:
        seen.append(pic)
        return [{"kind": pic.kind, "truth": t["category"], "found": m is not None} for t, m in pic.items]

    rows = collect_rows(stylist, [("catalog", img, truths), ("real", "a path", truths[:1])], rows_of, "test", False)
    assert [p.kind for p in seen] == ["catalog", "real"] and seen[1].img is img
    assert seen[0].detections == detector.detect(img)
    assert seen[0].items == matched_items("catalog", truths, seen[0].detections)
    assert len(rows) == len(seen[0].items) + 1 and rows[-1] == {"kind": "real", "truth": "Dresses", "found": True}
    assert len(seen[0].items) >= 2  # the drawn board's items are found
