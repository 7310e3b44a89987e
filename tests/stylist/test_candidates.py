"""Which detected items of a photo a search covers (the candidates themselves: test_search*.py)."""
from __future__ import annotations

import pytest

from stylist.candidates import choose_items
from stylist.errors import UnknownItemError
from stylist.results import Detection

DRESS = Detection(0, "Dresses", 0.9, (0, 0, 10, 10))
SHOES = Detection(1, "Shoes", 0.8, (0, 10, 10, 20))
BAG = Detection(2, "Bags", 0.7, (10, 0, 20, 10))


def test_all_best_or_chosen_items():
    dets = [DRESS, SHOES, BAG]
    assert choose_items(dets, "all") == dets
    assert choose_items(dets, None) == [DRESS]
    assert choose_items(dets, [2, 0]) == [BAG, DRESS]


def test_named_kind_narrows_all_and_best_but_not_chosen_numbers():
    dets = [DRESS, SHOES, BAG]
    assert choose_items(dets, "all", ["Shoes"]) == [SHOES]
    assert choose_items(dets, None, ["Shoes"]) == [SHOES]
    assert choose_items(dets, [0], ["Shoes"]) == [DRESS]
    assert choose_items(dets, "all", ["Hats"]) == dets  # no such item: everything


def test_nothing_detected_means_the_whole_image():
    assert choose_items([], "all") == [None] and choose_items([], None) == [None] and choose_items([], [0]) == [None]
    with pytest.raises(UnknownItemError, match="no items were detected"):
        choose_items([], [1])


def test_an_item_the_photo_lacks_is_a_clear_error():
    with pytest.raises(UnknownItemError, match="item 3 does not exist: this photo has items 0–1"):
        choose_items([DRESS, SHOES], [0, 3])


def test_a_photos_detections_are_judged_together_and_keep_an_earlier_decision():
    from stylist.candidates import in_context
    from stylist.garment_photo import judged

    shirt, pocket, shoe = (10, 10, 110, 210), (60, 100, 90, 130), (150, 150, 200, 200)
    fresh = [Detection(0, "Shirts & Tops", 0.8, shirt), Detection(1, "Handbags", 0.4, pocket)]
    assert in_context(judged(fresh)) == [True, True]
    assert in_context(judged([*fresh, Detection(2, "Shoes", 0.3, shoe)])) == [False, False, False]
    assert in_context(fresh) == [False, False]  # not judged: searched alone, an item may be one of several
    assert in_context([None]) == [False]  # the whole photo needs no context
    named = Detection(1, "Shirts & Tops", 0.4, pocket, detector_label="Handbags", whole_photo=True)
    board_item = Detection(2, "Skirts", 0.5, shoe, detector_label="Handbags", whole_photo=False)
    assert in_context(judged([named])) == [True]  # re-naming one item of a one-garment photo: same decision
    assert in_context(judged([board_item])) == [False]  # one item of a board searched alone: still not


def test_context_image_shrinks_large_photos_by_an_integer_box_filter():
    from PIL import Image

    from stylist.candidates import context_image

    assert context_image(Image.new("RGB", (1280, 960))).size == (256, 192)  # 1280 // 256 = 5
    assert context_image(Image.new("RGB", (600, 400))).size == (300, 200)
    small = Image.new("RGB", (240, 320))
    assert context_image(small) is small


def test_context_image_shrinks_a_photo_once():
    """The one-garment decision and then the context models ask for the same photo shrunk: the second asker
    gets the very image the first got; another photo of the same size gets its own."""
    from PIL import Image

    from stylist.candidates import context_image

    photo, other = Image.new("RGB", (1280, 960), (200, 10, 10)), Image.new("RGB", (1280, 960), (10, 10, 200))
    first = context_image(photo)
    assert context_image(photo) is first
    assert context_image(other) is not first
    assert context_image(other).getpixel((0, 0)) == (10, 10, 200) and first.getpixel((0, 0)) == (200, 10, 10)
    assert context_image(photo, side=128).size == (128, 96)  # another side: its own reduction

