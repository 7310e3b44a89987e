"""Whole garments: the garment's box from its pixels, and the detector's part-boxes grown to it."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from stylist.garment_box import (WholeGarmentDetector, backdrop, backdrop_of, garment_box, on_white, spans,
                                 whole_garments)
from stylist.metrics import box_iou
from stylist.results import Detection
from tests.helpers.pictures import four_products_on_white

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


def _det(box, label="Handbags", score=0.6, index=0) -> Detection:
    return Detection(index=index, label=label, score=score, box=tuple(float(v) for v in box))


def test_the_garment_on_a_floor_is_found():
    box = garment_box(_floor_photo())
    assert box is not None and box_iou(box, SHIRT) > 0.8


def test_no_object_no_box():
    assert garment_box(Image.new("RGB", (300, 200), (180, 180, 170))) is None
    assert garment_box(four_products_on_white()) is None  # four separate objects: not one garment


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


def test_on_white_paints_the_floor_white_and_keeps_the_garment_whole():
    photo = _floor_photo()
    d = ImageDraw.Draw(photo)
    d.rectangle((185, 200, 215, 230), fill=(150, 120, 90))  # a floor-coloured print inside the shirt
    found = backdrop(photo)
    assert found is not None and found.photographed
    crop = photo.crop((100, 70, 300, 350))
    out = np.asarray(on_white(crop, found, out_side=400)).astype(int)
    assert out.shape[:2] == (280, 200)
    assert (out[5:15, 5:15] >= 250).all()  # floor in the corner: white now
    assert abs(out[100:120, 80:100] - np.array([200, 30, 40])).max() <= 25  # the shirt's body: untouched
    assert abs(out[140:150, 90:110] - np.array([150, 120, 90])).max() <= 25  # the print inside it: kept (a hole)
    floor = np.asarray(crop).astype(int)[5:15, 5:15]
    assert floor.mean() < 200  # it was floor before


def test_on_white_shrinks_big_crops_and_leaves_untrusted_masks_alone():
    photo = _floor_photo().resize((1200, 1200))
    found = backdrop(photo)
    assert max(on_white(photo.crop((300, 210, 900, 1050)), found).size) == 256
    floor_only = photo.crop((0, 0, 200, 200))  # no garment in it: nothing to keep, so nothing is painted
    assert on_white(floor_only, found) is floor_only


def test_a_white_background_is_not_photographed():
    img = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(img).rectangle((80, 60, 220, 240), fill=(30, 60, 200))
    found = backdrop(img)
    assert found is not None and found.box is not None and not found.photographed


def test_a_box_only_somewhat_larger_is_kept():
    # the garment's box is then more often a part the background colours hid (a light garment on a light floor)
    near = _det((75, 45, 325, 360))  # 0.49 of the picture, holding the shirt (IoU 0.49) with room to spare
    assert whole_garments([near], _floor_photo()) == [near]
    half = _det((60, 40, 340, 337))  # 0.52 of the picture (IoU 0.46): still under SHRINK_FROM
    assert whole_garments([half], _floor_photo()) == [half]
    assert box_iou(whole_garments([_det((30, 20, 370, 370))], _floor_photo())[0].box, SHIRT) > 0.8  # 0.74: shrinks


def test_the_photo_is_read_once():
    photo = _floor_photo()
    first = backdrop_of(photo)
    assert backdrop_of(photo) is first
    assert backdrop_of(photo.copy()) is not first  # another photo, even an equal one, is read again


def test_interleaved_photos_each_keep_their_own_backdrop():
    # many shoppers at once: one photo's reading never evicts, nor stands in for, another's
    a, b = _floor_photo(0), _floor_photo(1).transpose(Image.Transpose.ROTATE_90)
    first_a, first_b = backdrop_of(a), backdrop_of(b)
    assert backdrop_of(a) is first_a and backdrop_of(b) is first_b and backdrop_of(a) is first_a
    assert first_a.box == backdrop(a).box and first_b.box == backdrop(b).box  # each its own photo's answer
    assert box_iou(first_a.box, SHIRT) >= 0.8 and box_iou(first_b.box, SHIRT) < 0.5  # and they differ



def _shadowed_wall(seed: int = 0) -> Image.Image:
    """A wall of three tones crossed from top to bottom by a dark shadow, a red bag lying across the shadow."""
    rng = np.random.default_rng(seed)
    wall = np.zeros((400, 400, 3))
    for i, colour in enumerate([(220, 200, 180), (150, 170, 220), (170, 220, 150)]):
        wall[:, i * 134:(i + 1) * 134] = colour
    img = Image.fromarray(np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.rectangle((150, 0, 190, 400), fill=(60, 50, 45))
    d.rectangle((130, 180, 210, 260), fill=(200, 30, 40))
    return img


def test_spans_means_two_opposite_edges():
    assert spans((100, 0, 200, 300), (400, 300)) and spans((0, 50, 400, 90), (400, 300))
    assert spans((100, 5, 200, 296), (400, 300))  # within 2 % of each edge
    assert not spans((100, 0, 200, 250), (400, 300)) and not spans((0, 0, 200, 200), (400, 300))  # one edge, a corner


def test_a_box_is_not_grown_to_an_object_spanning_the_picture():
    photo = _shadowed_wall()
    found = garment_box(photo)
    assert found is not None and spans(found, photo.size)  # the shadow band stands out as "the object"
    bag = _det((128, 178, 212, 262))
    assert whole_garments([bag], photo) == [bag]


def test_a_part_already_half_the_garment_still_grows():
    # the shirt's body without its sleeves: IoU 0.56 with the garment's box, yet it misses 44 % of it
    photo, body = _floor_photo(), _det((155, 90, 245, 330))
    assert 0.5 <= box_iou(body.box, garment_box(photo)) < 0.6
    out = whole_garments([body], photo)
    assert box_iou(out[0].box, SHIRT) > 0.8 and out[0].label == "Handbags"


def test_an_unsure_box_beside_the_garment_becomes_the_garment():
    # a patch of floor the detector is unsure of, lying outside the shirt: the shirt is what the photo shows
    photo, floor = _floor_photo(), _det((20, 340, 100, 390), score=0.3)
    out = whole_garments([floor], photo)
    assert box_iou(out[0].box, SHIRT) > 0.8 and out[0].label == "Handbags" and out[0].score == 0.3
    sure = _det((20, 340, 100, 390), score=0.8)  # a sure detection beside it is another item: kept
    assert whole_garments([sure], photo) == [sure]
    apart = [floor, _det((300, 20, 380, 70), score=0.3, index=1)]  # two separate boxes: maybe a board's items
    assert whole_garments(apart, photo) == apart
