"""A tiny made-up catalog for the bot tests: generated product pictures, a catalog CSV and outfit boards.

Products are simple garment silhouettes in distinct colours, so they are real images the real models
embed; boards paste a few of them onto a canvas at known boxes (the boards' ground truth).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from stylist.results import Detection

COLORS = {"red": (200, 30, 40), "blue": (30, 60, 190), "green": (40, 150, 60), "black": (20, 20, 20),
          "white": (235, 235, 235), "yellow": (230, 200, 40)}
CATEGORIES = ("Dresses", "Pants", "Handbags", "Shoes", "Hats", "Shirts & Tops")


def _draw(category: str, rgb: tuple[int, int, int], variant: int, size: int = 160) -> Image.Image:
    img = Image.new("RGB", (size, size), (250, 250, 250))
    d = ImageDraw.Draw(img)
    s, v = size, variant * 6
    if category == "Dresses":
        d.polygon([(s * .4, s * .1), (s * .6, s * .1), (s * .85 - v, s * .9), (s * .15 + v, s * .9)], fill=rgb)
    elif category == "Pants":
        d.polygon([(s * .3, s * .1), (s * .7, s * .1), (s * .75, s * .9), (s * .55, s * .9), (s * .5, s * .4),
                   (s * .45, s * .9), (s * .25, s * .9)], fill=rgb)
    elif category == "Handbags":
        d.rectangle((s * .2, s * .4, s * .8, s * .85 - v), fill=rgb)
        d.arc((s * .3, s * .15, s * .7, s * .6), 180, 360, fill=rgb, width=6)
    elif category == "Shoes":
        d.polygon([(s * .1, s * .6), (s * .5, s * .55 + v), (s * .9, s * .7), (s * .9, s * .8), (s * .1, s * .8)], fill=rgb)
    elif category == "Hats":
        d.ellipse((s * .1, s * .55, s * .9, s * .75), fill=rgb)
        d.rectangle((s * .3, s * .25 + v, s * .7, s * .65), fill=rgb)
    else:
        d.polygon([(s * .3, s * .15), (s * .7, s * .15), (s * .9, s * .35), (s * .75, s * .45), (s * .72, s * .85),
                   (s * .28, s * .85), (s * .25, s * .45), (s * .1, s * .35)], fill=rgb)
    return img


def write_catalog(root: Path, variants: int = 2) -> Path:
    """6 categories × 6 colours × ``variants`` products (72 by default); returns the CSV path."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for ci, category in enumerate(CATEGORIES):
        for color, rgb in COLORS.items():
            for v in range(variants):
                pid = f"{category.split()[0].lower()}-{color}-{v}"
                path = root / f"{pid}.jpg"
                _draw(category, rgb, v).save(path, quality=90)
                rows.append({"id": pid, "image": path.name, "name": f"{color.title()} {category.lower()} no. {v + 1}",
                             "category": category, "color": color, "price": f"{20 + 15 * ((ci + v) % 5) + 0.5 * v:.2f}",
                             "url": f"https://shop.example/{pid}"})
    csv_path = root / "catalog.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return csv_path


@dataclass(frozen=True)
class Board:
    """An outfit photo and where its items are (the truth a perfect detector would return)."""

    jpeg: bytes
    size: tuple[int, int]
    items: tuple[Detection, ...]


def make_board(items: list[tuple[str, str]], size: tuple[int, int]) -> Board:
    """Paste (category, colour) products side by side on a grey canvas of ``size`` (which identifies it)."""
    canvas = Image.new("RGB", size, (200, 200, 200))
    cell = size[0] // max(1, len(items))
    side = min(cell - 10, size[1] - 20)
    found = []
    for i, (category, color) in enumerate(items):
        x0, y0 = i * cell + 5, (size[1] - side) // 2
        canvas.paste(_draw(category, COLORS[color], 0, side), (x0, y0))
        found.append(Detection(index=i, label=category, score=0.9 - 0.1 * i, box=(x0, y0, x0 + side, y0 + side)))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return Board(out.getvalue(), size, tuple(found))


GRID_CELLS = ((40, 40), (340, 40), (40, 340), (340, 340))  # top-left corners of a 2×2 grid on 640×640


def make_grid_board(items: list[tuple[str, str]], side: int = 260) -> Board:
    """Up to four (category, colour) products in a 2×2 grid on a white 640×640 canvas, as a catalogue-style
    outfit board; each true box is its product's ink, found from the pixels (not from any detector)."""
    canvas = Image.new("RGB", (640, 640), (255, 255, 255))
    truth = []
    for i, ((x0, y0), (category, color)) in enumerate(zip(GRID_CELLS, items)):
        product = _draw(category, COLORS[color], 0, side)
        canvas.paste(product, (x0, y0))
        bx0, by0, bx1, by1 = ImageChops.difference(product, Image.new("RGB", product.size, (250, 250, 250))).getbbox()
        truth.append(Detection(index=i, label=category, score=1.0, box=(x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return Board(out.getvalue(), canvas.size, tuple(truth))
