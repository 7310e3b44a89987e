"""Boards of DRAWN products: flat one-colour garment silhouettes in a grid on white.

Why: shops' and testers' mock-ups (and the bot's own demo grids) draw products as flat shapes; a detector
fine-tuned only on photographed crops forgot them (a green drawn handbag was called a top). A few dozen of
these in the fine-tune mix keep that knowledge. Every shape is jittered (proportions, colour, size, cell
position), so no fixed picture is learnt.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

Point = tuple[float, float]


def _j(rng: np.random.Generator, amount: float = 0.04) -> float:
    return float(rng.uniform(-amount, amount))


def _shape(category: str, rng: np.random.Generator) -> list[tuple[str, list[Point] | tuple, dict]]:
    """Drawing operations on a unit square for one silhouette of ``category`` (jittered)."""
    j = lambda a=0.04: _j(rng, a)  # noqa: E731
    if category == "Pants":
        top, bot, crotch = .1 + j(), .9 + j(), .35 + j(.08)
        return [("polygon", [(.3 + j(), top), (.7 + j(), top), (.76 + j(), bot), (.56 + j(), bot), (.5, crotch),
                             (.44 + j(), bot), (.24 + j(), bot)], {})]
    if category == "Shorts":
        top, bot = .25 + j(), .62 + j(.06)
        return [("polygon", [(.25 + j(), top), (.75 + j(), top), (.8 + j(), bot), (.55, bot), (.5, .45 + j()),
                             (.45, bot), (.2 + j(), bot)], {})]
    if category == "Skirts":
        return [("polygon", [(.35 + j(), .2 + j()), (.65 + j(), .2 + j()), (.85 + j(), .8 + j()),
                             (.15 + j(), .8 + j())], {})]
    if category == "Dresses":
        return [("polygon", [(.4 + j(), .08 + j()), (.6 + j(), .08 + j()), (.62 + j(), .35), (.86 + j(.06), .92),
                             (.14 + j(.06), .92), (.38 + j(), .35)], {})]
    if category == "Handbags":
        y0, y1 = .4 + j(.06), .85 + j(.06)
        x0, x1 = .18 + j(.06), .82 + j(.06)
        return [("rectangle", (x0, y0, x1, y1), {}),
                ("arc", (.3 + j(), .15 + j(), .7 + j(), y0 + .2), {"start": 180, "end": 360, "width": 0.04})]
    if category == "Shoes":
        return [("polygon", [(.1 + j(), .6 + j()), (.3 + j(), .45 + j()), (.5 + j(), .55 + j()),
                             (.9 + j(), .7 + j()), (.9, .8 + j()), (.1, .8 + j())], {})]
    if category == "Hats":
        return [("ellipse", (.08 + j(), .55 + j(), .92 + j(), .75 + j()), {}),
                ("rectangle", (.3 + j(), .25 + j(.08), .7 + j(), .65), {})]
    # Shirts & Tops: a T-shirt with sleeves
    return [("polygon", [(.3 + j(), .15 + j()), (.7 + j(), .15 + j()), (.9 + j(), .35 + j()), (.75, .45 + j()),
                         (.72 + j(), .85 + j()), (.28 + j(), .85 + j()), (.25, .45 + j()), (.1 + j(), .35 + j())], {})]


CATEGORIES = ("Shirts & Tops", "Pants", "Handbags", "Shoes", "Dresses", "Hats", "Skirts", "Shorts")


def draw_item(category: str, rgb: tuple[int, int, int], side: int, rng: np.random.Generator,
              paper: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """One drawn product of ``category`` on a ``side``-px square of ``paper`` colour."""
    img = Image.new("RGB", (side, side), paper)
    d = ImageDraw.Draw(img)
    for op, geom, kw in _shape(category, rng):
        if op == "polygon":
            d.polygon([(x * side, y * side) for x, y in geom], fill=rgb)
        elif op == "rectangle":
            d.rectangle(_box(geom, side), fill=rgb)
        elif op == "ellipse":
            d.ellipse(_box(geom, side), fill=rgb)
        else:
            d.arc(_box(geom, side), kw["start"], kw["end"], fill=rgb, width=max(2, int(kw["width"] * side)))
    return img


def _box(geom: tuple, side: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (v * side for v in geom)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A flat colour clearly off white (any hue; dark, mid or saturated)."""
    while True:
        rgb = tuple(int(v) for v in rng.integers(0, 256, 3))
        if min(rgb) < 200 and max(rgb) - min(rgb) + (255 - max(rgb)) > 60:
            return rgb


def render_drawn_board(src: object, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """1–4 drawn products in a grid on white or near-white (``src`` and ``split`` unused: no real pixels)."""
    landscape = rng.random() < 0.5
    short = int(imgsz * rng.uniform(0.75, 1.0))
    W, H = (imgsz, short) if landscape else (short, imgsz)
    shade = int(rng.integers(244, 256))
    paper = (shade, shade, shade)
    board = Image.new("RGB", (W, H), paper)
    n = int(rng.integers(1, 5))
    cols, rows = {1: (1, 1), 2: (2, 1) if W >= H else (1, 2), 3: (2, 2), 4: (2, 2)}[n]
    boxes = []
    for cell in rng.permutation(cols * rows)[:n]:
        cw, ch = W / cols, H / rows
        side = int(min(cw, ch) * rng.uniform(0.55, 0.95))
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        item = draw_item(category, _colour(rng), side, rng, paper)
        x = int((cell % cols) * cw + rng.uniform(0, max(1.0, cw - side)))
        y = int((cell // cols) * ch + rng.uniform(0, max(1.0, ch - side)))
        board.paste(item, (x, y))
        ink = ImageChops.difference(item, Image.new("RGB", item.size, paper)).getbbox()
        if ink:
            boxes.append({"category": category, "box": [x + ink[0], y + ink[1], x + ink[2], y + ink[3]]})
    return board, {"layout": None, "background": "white", "boxes": boxes}
