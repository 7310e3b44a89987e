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


def _settings(**kw):
    from stylist.models.detector_settings import DetectorSettings

    s = DetectorSettings(conf=0.25, **kw)
    s.classes = CLASSES
    return s


def test_second_chance_only_when_nothing_is_sure():
    found = [(0.2, 0, (10, 10, 90, 90)), (0.1, 3, (0, 0, 30, 30))]  # best first, both under conf 0.25
    assert _settings().choose(found, 100, 100) == []  # second chance off by default
    second = _settings(fallback_conf=0.05).choose(found, 100, 100)
    assert [(d.label, d.box) for d in second] == [(CLASSES[0], (10.0, 10.0, 90.0, 90.0))]  # the best one only
    # one sure box: exactly the boxes above conf, the weak ones are not added
    sure = [(0.6, 2, (5, 5, 50, 50))] + found
    assert [d.score for d in _settings(fallback_conf=0.05).choose(sure, 100, 100)] == [0.6]
    assert _settings(fallback_conf=0.3).choose(found, 100, 100) == []  # nothing above the second threshold


def test_second_chance_box_must_look_like_an_item():
    sliver = (0.2, 0, (0, 0, 100, 8))  # 100 x 8: aspect 12.5
    tiny = (0.15, 0, (40, 40, 48, 48))  # 0.64 % of the picture
    good = (0.1, 4, (20, 10, 70, 95))
    s = _settings(fallback_conf=0.05, fallback_min_area=0.02, fallback_max_aspect=6.0)
    assert [d.box for d in s.choose([sliver, tiny, good], 100, 100)] == [(20.0, 10.0, 70.0, 95.0)]
    assert s.choose([sliver, tiny], 100, 100) == []
    # a box reaching past the picture is judged by its visible part
    assert not s.plausible((-500, 0, 4, 100), 100, 100)


def test_zoomed_out_look_adds_only_large_boxes():
    s = _settings(zoom_imgsz=256, zoom_min_area=0.25)
    first = [(0.5, 0, (40, 40, 60, 60))]  # a print on the garment
    zoomed = [(0.7, 4, (5, 5, 95, 95)), (0.6, 1, (0, 0, 10, 10))]  # the whole garment, and a small box
    looks = {512: first, 256: zoomed}
    dets = s.serve(lambda size: looks[size], 100, 100)
    assert [(d.label, d.box) for d in dets] == [(CLASSES[4], (5.0, 5.0, 95.0, 95.0)),
                                                (CLASSES[0], (40.0, 40.0, 60.0, 60.0))]
    # a large zoomed box over the same item as a first-look box: class-agnostic NMS keeps the better one
    looks = {512: [(0.8, 2, (6, 6, 94, 94))], 256: zoomed}
    assert [d.score for d in s.serve(lambda size: looks[size], 100, 100)] == [0.8]
    # only when the first look found nothing sure
    s.zoom_always = False
    looks = {512: first, 256: zoomed}
    assert [d.score for d in s.serve(lambda size: looks[size], 100, 100)] == [0.5]


def test_parts_inside_a_better_box_are_dropped():
    garment = (0.6, 0, (10, 10, 90, 90))
    print_ = (0.4, 7, (40, 40, 60, 60))  # wholly inside the garment
    neighbour = (0.5, 3, (70, 70, 100, 100))  # a quarter inside: another item
    found = [garment, neighbour, print_]
    assert [d.score for d in _settings().choose(found, 100, 100)] == [0.6, 0.5, 0.4]  # off by default
    assert [d.score for d in _settings(contain=0.7).choose(found, 100, 100)] == [0.6, 0.5]
    # the better-scored box wins: a garment scored below its print is kept, the print inside it too
    assert [d.score for d in _settings(contain=0.7).choose([(0.6, 7, (40, 40, 60, 60)), (0.4, 0, (10, 10, 90, 90))],
                                                           100, 100)] == [0.6, 0.4]


def test_a_board_also_gets_its_lower_scored_boxes_a_single_garment_does_not():
    board = [(0.8, 0, (0, 0, 30, 30)), (0.6, 1, (40, 0, 70, 30)), (0.15, 2, (0, 40, 30, 70)), (0.05, 3, (40, 40, 70, 70))]
    assert [d.score for d in _settings().choose(board, 100, 100)] == [0.8, 0.6]  # off by default
    assert [d.score for d in _settings(propose=0.1).choose(board, 100, 100)] == [0.8, 0.6, 0.15]
    one = [(0.8, 0, (0, 0, 30, 30)), (0.15, 2, (0, 40, 30, 70))]  # one sure box: not a board
    assert [d.score for d in _settings(propose=0.1).choose(one, 100, 100)] == [0.8]
    assert _settings(propose=0.1, fallback_conf=0.05).floor == 0.05 and _settings(propose=0.1).floor == 0.1
    assert [d.score for d in _settings(propose=0.5).choose(board, 100, 100)] == [0.8, 0.6]  # never fewer than conf gives


def test_a_board_is_looked_at_again_closer_only_when_asked_and_only_a_board():
    sizes = []

    def look(size):
        sizes.append(size)
        if size == 640:  # the closer look finds a small item the first missed, and the first items again
            return [(0.7, 0, (1, 1, 29, 29)), (0.2, 4, (80, 80, 90, 90))]
        return [(0.8, 0, (0, 0, 30, 30)), (0.6, 1, (40, 0, 70, 30))]

    assert [d.score for d in _settings(propose=0.1, board_imgsz=640).serve(look, 100, 100)] == [0.8, 0.6, 0.2]
    assert sizes == [512, 640]
    sizes.clear()
    assert [d.score for d in _settings(propose=0.1).serve(look, 100, 100)] == [0.8, 0.6] and sizes == [512]
    sizes.clear()
    one = _settings(propose=0.1, board_imgsz=640)
    assert [d.score for d in one.serve(lambda size: sizes.append(size) or [(0.8, 0, (0, 0, 30, 30))], 100, 100)] == [0.8]
    assert sizes == [512]  # one sure box: not a board, no second look
