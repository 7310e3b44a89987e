"""The detector: class names, boxes in the input image's pixels, sorted, indexed, and a lock for threads."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylist.models.detector import Detector, random_init_yolo
from stylist.schema import CLASSES


@pytest.fixture(scope="module")
def detector() -> Detector:
    # conf near zero: an untrained model's low scores still give boxes to check the geometry on
    return Detector(random_init_yolo("yolov5n.yaml"), imgsz=128, conf=1e-4, max_det=20)


def _image(w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(0)
    arr = np.full((h, w, 3), 255, np.uint8)
    arr[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = rng.integers(0, 255, (3, 1, 3), dtype=np.uint8).repeat(
        h // 2 // 3 + 1, 0)[: 3 * h // 4 - h // 4]
    return Image.fromarray(arr)


def test_random_init_has_our_classes(detector):
    assert detector.classes == CLASSES


def test_boxes_are_in_input_pixels_sorted_and_indexed(detector):
    small = _image(160, 120)
    dets = detector.detect(small)
    assert dets, "an untrained model at conf 1e-4 still returns boxes"
    assert [d.index for d in dets] == list(range(len(dets)))
    assert [d.score for d in dets] == sorted((d.score for d in dets), reverse=True)
    for d in dets:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 <= x1 <= small.width and 0 <= y0 <= y1 <= small.height
        assert d.label in CLASSES
    # the same picture at twice the size reaches the network as the same letterboxed tensor:
    # the boxes must come back exactly twice as large, i.e. in the pixels of the image passed in
    big = small.resize((320, 240), Image.NEAREST)
    dets2 = detector.detect(big)
    a = np.array([d.box for d in dets]) * 2
    b = np.array([d.box for d in dets2])
    assert len(dets2) == len(dets)
    np.testing.assert_allclose(a, b, atol=2.0)


@pytest.mark.shared_data
def test_bundled_detector_finds_the_items_of_a_simple_board(shared_data):
    """The first CTL crop of four common classes in a 2×2 grid on white: the trained detector boxes each
    one (IoU ≥ 0.5, class-agnostic, as the search eval matches them)."""
    import csv

    from stylist.config import load_config
    from stylist.metrics import best_match
    from stylist.models import load_detector
    from training.data.paste import trim_white

    wanted = ["Shirts & Tops", "Pants", "Shoes", "Handbags"]
    picked: dict[str, str] = {}
    with (shared_data / "ctl" / "crops.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["category"] in wanted and row["category"] not in picked:
                picked[row["category"]] = row["file"]
    board = Image.new("RGB", (640, 640), (255, 255, 255))
    truth = []
    for (x0, y0, x1, y1), cls in zip([(40, 40, 300, 300), (340, 40, 600, 300), (40, 340, 300, 600), (340, 340, 600, 600)], wanted):
        with Image.open(shared_data / "ctl" / picked[cls]) as im:
            item = trim_white(im.convert("RGB"))
        scale = min((x1 - x0) / item.width, (y1 - y0) / item.height)
        item = item.resize((round(item.width * scale), round(item.height * scale)), Image.BICUBIC)
        px, py = x0 + (x1 - x0 - item.width) // 2, y0 + (y1 - y0 - item.height) // 2
        board.paste(item, (px, py))
        truth.append((px, py, px + item.width, py + item.height))
    detections = load_detector(load_config(env={})).detect(board)
    boxes = [d.box for d in detections]
    assert [best_match(t, boxes, 0.5) >= 0 for t in truth] == [True, True, True, True]
