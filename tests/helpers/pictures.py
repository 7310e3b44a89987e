"""Small drawn pictures shared by the garment tests (whole-garment boxes, one garment or several)."""
from __future__ import annotations

from PIL import Image, ImageDraw


def four_products_on_white() -> Image.Image:
    """A catalogue board: four products on white, several separate objects and no salient one."""
    img = Image.new("RGB", (400, 400), "white")
    d = ImageDraw.Draw(img)
    for i, fill in enumerate([(20, 20, 20), (30, 60, 200), (200, 30, 40), (40, 150, 60)]):
        x, y = 30 + (i % 2) * 200, 30 + (i // 2) * 200
        d.rectangle((x, y, x + 120, y + 140), fill=fill)
    return img
