"""The one box drawer: outlines in the box's colour, a label tab, numbering and scaling of detections."""
from __future__ import annotations

from PIL import Image

from stylist.draw import PALETTE, LabelledBox, draw_boxes, numbered
from stylist.results import Detection


def test_outline_and_label_tab_in_the_box_colour_and_the_input_untouched():
    img = Image.new("RGB", (200, 100), "white")
    out = draw_boxes(img, [LabelledBox((100, 20, 180, 90), "7", (10, 200, 30))], width=3, font_size=12)
    assert out.getpixel((100, 80)) == (10, 200, 30) and out.getpixel((180, 50)) == (10, 200, 30)  # left, right edges
    assert out.getpixel((140, 55)) == (255, 255, 255)  # inside the box: untouched
    bare = draw_boxes(img, [LabelledBox((100, 20, 180, 90), "", (10, 200, 30))], width=3, font_size=12)
    corner = (100, 20, 125, 45)
    def coloured(im):
        return sum(p == (10, 200, 30) for p in im.crop(corner).getdata())
    assert coloured(out) > coloured(bare) + 20  # the label tab fills part of the top-left corner
    assert img.getpixel((100, 80)) == (255, 255, 255)  # a copy was drawn on


def test_numbered_detections_count_from_first_and_scale():
    dets = [Detection(0, "Shoes", 0.9, (10.0, 20.0, 30.0, 40.0)), Detection(9, "Hats", 0.5, (0.0, 0.0, 4.0, 8.0))]
    boxes = numbered(dets, first=1, scale=0.5)
    assert [b.label for b in boxes] == ["1", "10"]
    assert boxes[0].box == (5.0, 10.0, 15.0, 20.0)
    assert [b.color for b in boxes] == [PALETTE[0], PALETTE[9 % len(PALETTE)]]
