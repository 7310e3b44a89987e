"""One garment or several (stylist.garment_photo): parts of one box, background texture beside one object."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from stylist.garment_photo import (FEW, MAX_ITEMS, UNSURE, background_beside, judged, one_garment, paired,
                                   unsure_of_all)
from stylist.results import Detection
from tests.helpers.pictures import four_products_on_white

DRESS = (150, 60, 250, 340)  # the drawn garment: x0, y0, x1, y1
TILE_A, TILE_B, TILE_C = (10, 10, 70, 70), (330, 320, 390, 390), (10, 320, 60, 390)  # floor tiles off the dress


def _tiled_floor_photo() -> Image.Image:
    """A blue dress on a grey tiled floor: the detector boxes tiles, the pixels show one object."""
    rng = np.random.default_rng(0)
    floor = np.clip(np.array([170, 170, 165]) + rng.normal(0, 5, (400, 400, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(floor)
    d = ImageDraw.Draw(img)
    for x in range(0, 400, 80):  # thin grout lines: texture, not objects
        d.line((x, 0, x, 400), fill=(160, 160, 155), width=1)
        d.line((0, x, 400, x), fill=(160, 160, 155), width=1)
    d.polygon([(180, 60), (220, 60), (250, 340), (150, 340)], fill=(30, 50, 140))
    return img


def _det(box, score: float, index: int = 0, label: str = "Jewelry") -> Detection:
    return Detection(index=index, label=label, score=score, box=tuple(float(v) for v in box))


def test_boxes_alone_decide_when_they_are_parts_of_one():
    shirt, collar, pocket = (10, 10, 110, 210), (40, 5, 80, 40), (60, 100, 90, 130)
    assert one_garment([shirt]) and one_garment([shirt, collar, pocket])  # rule 1 (stylist.box_geometry)
    assert not one_garment([shirt, (120, 10, 200, 90)])  # a second item beside it: a board, an outfit
    assert not one_garment([shirt, (90, 10, 150, 60), collar])  # a third of a box inside is not a part ...
    assert one_garment([shirt, (90, 10, 150, 60), collar], inside=0.3)  # ... unless ``inside`` says so
    assert not one_garment([])


def test_one_or_two_unsure_boxes_are_one_garment():
    boxes = [TILE_A, TILE_B]
    assert not one_garment(boxes)  # the boxes alone: two things far apart
    assert unsure_of_all([0.4, 0.3], FEW) and one_garment(boxes, [0.4, 0.3])
    assert not one_garment(boxes, [UNSURE, 0.3])  # the detector is sure of one: it may be one of several items
    assert not one_garment([TILE_A, TILE_B, TILE_C], [0.4, 0.3, 0.3])  # three: rule 3 needs the pixels


def test_unsure_boxes_beside_the_salient_object_are_background():
    boxes, scores = [TILE_A, TILE_B, TILE_C], [0.4, 0.3, 0.3]
    assert one_garment(boxes, scores, DRESS) and background_beside(boxes, scores, DRESS)
    assert not one_garment(boxes, [0.6, 0.3, 0.3], DRESS)  # the detector is sure of one
    assert not one_garment(boxes, scores, None)  # no single object in the pixels
    assert not one_garment(boxes, None, DRESS)  # scores unknown: rule 1 only
    on_dress = (160, 100, 240, 200)  # the best box mostly on the object: an item of a board, not texture
    assert not background_beside([on_dress, TILE_B, TILE_C], scores, DRESS)
    many = [TILE_A, TILE_B, TILE_C, (330, 10, 390, 60), (90, 10, 130, 50)]
    assert len(many) == MAX_ITEMS + 1 and not one_garment(many, [0.3] * len(many), DRESS)  # a board
    assert one_garment(many[:MAX_ITEMS], [0.3] * MAX_ITEMS, DRESS)


def test_judged_reads_the_photo_only_when_the_boxes_do_not_decide():
    img = _tiled_floor_photo()
    two = [_det(TILE_A, 0.45), _det(TILE_B, 0.3, 1)]
    assert [d.whole_photo for d in judged(two)] == [True, True]  # rule 2: no pixels needed
    three = [*two, _det(TILE_C, 0.3, 2)]
    assert [d.whole_photo for d in judged(three)] == [False] * 3  # without the photo: rules 1 and 2 only
    assert [d.whole_photo for d in judged(three, img)] == [True] * 3  # rule 3: the dress is the one object
    sure = [_det(TILE_A, 0.9), *three[1:]]
    assert [d.whole_photo for d in judged(sure, img)] == [False] * 3
    on_board = [_det((30, 30, 150, 170), 0.4), _det((230, 230, 350, 370), 0.3, 1), _det((230, 30, 350, 170), 0.3, 2)]
    assert [d.whole_photo for d in judged(on_board, four_products_on_white())] == [False] * 3  # several objects, none salient


def test_judged_keeps_an_earlier_decision():
    named = Detection(0, "Shirts & Tops", 0.4, TILE_A, detector_label="Jewelry", whole_photo=True)
    fresh = _det(TILE_B, 0.9, 1)
    out = judged([named, fresh], _tiled_floor_photo())
    assert out[0] is named and out[1].whole_photo  # the fresh one alone: one box


def test_the_namer_decides_only_for_several_unsure_fresh_detections():
    from stylist.garment_photo import NAMER_SURE, SURE_ITEM, namer_may_decide, namer_says_one

    tiles = [_det(TILE_A, 0.6), _det(TILE_B, 0.55, 1), _det(TILE_C, 0.3, 2)]
    assert namer_may_decide(tiles)
    assert not namer_may_decide(tiles[:1])  # one box is one garment already (rule 1)
    assert not namer_may_decide([*tiles, _det(DRESS, SURE_ITEM, 3)])  # the detector sure of an item: a board
    assert not namer_may_decide([*tiles[:2], None])  # the whole photo searched: nothing to decide
    named = [Detection(0, "Dresses", 0.6, TILE_A, detector_label="Jewelry"), tiles[1]]
    assert not namer_may_decide(named)  # decided before: keeps its decision
    judged_one = [Detection(0, "Jewelry", 0.6, TILE_A, whole_photo=True), tiles[1]]
    assert not namer_may_decide(judged_one)
    sure, unsure = np.full(13, (1 - NAMER_SURE) / 12), np.full(13, 1 / 13)
    sure[6] = NAMER_SURE
    assert namer_says_one(sure) and not namer_says_one(unsure) and not namer_says_one(None)


def test_an_unsure_photo_puts_the_garment_in_the_middle_first():
    from stylist.garment_photo import SURE_ITEM, prominent_first

    glasses = _det((340, 10, 390, 40), 0.45)  # a small box in the corner, scored above the dress
    dress = _det(DRESS, 0.35, 1)
    assert [d.index for d in prominent_first([glasses, dress], (400, 400))] == [1, 0]
    assert [d.index for d in judged([glasses, dress], _tiled_floor_photo())] == [1, 0]
    assert [d.index for d in judged([glasses, dress])] == [0, 1]  # without the photo: the detector's order
    sure = _det((340, 10, 390, 40), SURE_ITEM)  # the detector sure of an item (a board): its order kept
    assert [d.index for d in prominent_first([sure, dress], (400, 400))] == [0, 1]
    centred = _det((150, 150, 250, 250), 0.3, 2)  # as central as the dress, lower score: stays behind it
    assert [d.index for d in prominent_first([dress, centred], (400, 400))] == [1, 2]


def test_two_separate_halves_of_one_garment_are_joined():
    left, right = _det((100, 100, 160, 150), 0.3), _det((180, 100, 240, 150), 0.3, 1)  # two lenses, apart
    out = paired([left, right])
    assert out[0].box == (100, 100, 240, 150) and out[0].label == left.label and out[1] == right
    inner = _det((110, 110, 150, 140), 0.3, 1)  # a part inside the first: not a pair
    assert paired([left, inner]) == [left, inner] and paired([left]) == [left]


def test_judged_joins_a_pair_only_in_a_one_garment_photo():
    left, right = _det((100, 100, 160, 150), 0.3), _det((180, 100, 240, 150), 0.3, 1)
    out = judged([left, right])  # both unsure, two boxes: one garment
    assert out[0].whole_photo and out[0].box == (100, 100, 240, 150)
    sure = judged([_det((100, 100, 160, 150), 0.9), _det((180, 100, 240, 150), 0.9, 1)])  # two sure items: several
    assert not sure[0].whole_photo and sure[0].box == (100, 100, 160, 150)
