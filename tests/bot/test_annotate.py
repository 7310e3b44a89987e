"""Numbered boxes drawn on the shopper's photo."""
from __future__ import annotations

import io

from PIL import Image

from bot.annotate import MAX_SIDE, annotate
from stylist.results import Detection


def test_boxes_are_drawn_and_big_photos_shrink():
    img = Image.new("RGB", (400, 300), "white")
    jpeg = annotate(img, [Detection(0, "Dresses", 0.9, (50, 50, 200, 250))])
    out = Image.open(io.BytesIO(jpeg)).convert("RGB")
    assert out.size == (400, 300)
    r, g, b = out.getpixel((50, 150))  # left edge of the first box: red-ish outline
    assert r > 150 and g < 100 and b < 120
    assert out.getpixel((300, 150)) == (255, 255, 255) or sum(out.getpixel((300, 150))) > 740

    big = annotate(Image.new("RGB", (4000, 2000), "white"), [])
    assert Image.open(io.BytesIO(big)).size == (MAX_SIDE, MAX_SIDE // 2)
