"""Whole garments: the garment's box from its pixels, and the detector's part-boxes grown to it."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from stylist.garment_box import WholeGarmentDetector, garment_box, whole_garments
from stylist.metrics import box_iou
from stylist.results import Detection

SHIRT = (120, 90, 280, 330)  # x0, y0, x1, y1 of the drawn garment


def _floor_photo(seed: int = 0) -> Image.Image:
    """A red T-shirt-like shape on a noisy wooden-brown floor, as a shopper would photograph it."""
    rng = np.random.default_rng(seed)
    floor = np.clip(np.array([150, 120, 90]) + rng.normal(0, 6, (400, 400, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(floor)
    d = ImageDraw.Draw(img)
    d.rectangle((160, 90, 240, 330), fill=(200, 30, 40))  # body
    d.polygon([(160, 90), (120, 150), (140, 170), (160, 130)], fill=(200, 30, 40))  # sleeves
    d.polygon([(240, 90), (280, 150), (260, 170), (240, 130)], fill=(200, 30, 40))
    return img


def _board() -> Image.Image:
    img = Image.new("RGB", (400, 400), "white")
    d = ImageDraw.Draw(img)
    for i, fill in enumerate([(20, 20, 20), (30, 60, 200), (200, 30, 40), (40, 150, 60)]):
        x, y = 30 + (i % 2) * 200, 30 + (i // 2) * 200
        d.rectangle((x, y, x + 120, y + 140), fill=fill)
    return img


def _det(box, label="Handbags", score=0.6, index=0) -> Detection:
    return Detection(index=index, label=label, score=score, box=tuple(float(v) for v in box))


def test_the_garment_on_a_floor_is_found():
    box = garment_box(_floor_photo())
    assert box is not None and box_iou(box, SHIRT) > 0.8


def test_no_object_no_box():
    assert garment_box(Image.new("RGB", (300, 200), (180, 180, 170))) is None
    assert garment_box(_board()) is None  # four separate objects: not one garment


def test_a_part_grows_to_the_whole_garment_and_keeps_its_label():
    pocket = _det((180, 150, 220, 200))
    out = whole_garments([pocket], _floor_photo())
    assert box_iou(out[0].box, SHIRT) > 0.8 and out[0].label == "Handbags" and out[0].score == 0.6


def test_a_box_far_too_large_shrinks_to_the_garment():
    out = whole_garments([_det((0, 0, 400, 400))], _floor_photo())
    assert box_iou(out[0].box, SHIRT) > 0.8


def test_a_good_box_and_boards_are_left_alone():
    good = _det((122, 92, 278, 326))
    assert whole_garments([good], _floor_photo()) == [good]
    many = [_det((30, 30, 150, 170), index=i) for i in range(4)]
    assert whole_garments(many, _floor_photo()) == many  # more than a photo of one garment holds


def test_nothing_detected_gets_the_garments_box_unlabelled():
    out = whole_garments([], _floor_photo())
    assert len(out) == 1 and out[0].label == "" and out[0].score == 0.0 and box_iou(out[0].box, SHIRT) > 0.8
    assert whole_garments([], Image.new("RGB", (300, 200), "white")) == []


def test_the_wrapper_refines_the_bundled_detectors_boxes_and_passes_the_rest_through():
    from stylist.config import load_config
    from stylist.models import load_detector

    inner = load_detector(load_config(env={}))
    wrapped, photo = WholeGarmentDetector(inner), _floor_photo()
    assert wrapped.detect(photo) == whole_garments(inner.detect(photo), photo)
    assert box_iou(wrapped.detect(photo)[0].box, SHIRT) > 0.8
    assert wrapped.classes == inner.classes and wrapped.imgsz == inner.imgsz
