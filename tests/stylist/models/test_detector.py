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
