"""The one box drawer: labelled boxes on a picture, for the bot's photo, the demo's contact sheet, the eval
report and the training-data sample. Every layer may use it, so it lives in the core.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from stylist.results import Detection

RGB = tuple[int, int, int]
PALETTE: tuple[RGB, ...] = ((230, 25, 75), (60, 180, 75), (67, 99, 216), (245, 130, 49), (145, 30, 180),
                            (0, 128, 128), (240, 50, 230), (154, 99, 36))  # distinct on photos and on white


@dataclass(frozen=True)
class LabelledBox:
    """A box (x0, y0, x1, y1 in pixels of the picture it is drawn on), its label and its colour."""

    box: tuple[float, float, float, float]
    label: str
    color: RGB


def font(size: int) -> ImageFont.ImageFont:
    """PIL's bundled font at ``size`` (its fixed small bitmap font on Pillow < 10.1)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def item_color(index: int) -> RGB:
    """The colour of detected item ``index`` (its box, its button, its heading agree)."""
    return PALETTE[index % len(PALETTE)]


def numbered(detections: Sequence[Detection], first: int = 1, scale: float = 1.0) -> list[LabelledBox]:
    """Detections as boxes labelled with their number (``index + first``), scaled by ``scale``."""
    return [LabelledBox(tuple(v * scale for v in d.box), str(d.index + first), item_color(d.index))  # type: ignore[arg-type]
            for d in detections]


def draw_boxes(img: Image.Image, boxes: Sequence[LabelledBox], width: int | None = None,
               font_size: int | None = None) -> Image.Image:
    """An RGB copy of ``img`` with each box outlined and its label on a filled tab at the top-left corner.

    Line width and font grow with the picture unless given, so labels stay readable on big photos.
    """
    out = img.convert("RGB")
    out = out.copy() if out is img else out
    draw = ImageDraw.Draw(out)
    line = width or max(2, round(max(out.size) / 200))
    face = font(font_size or max(12, round(max(out.size) / 25)))
    for b in boxes:
        x0, y0, x1, y1 = b.box
        draw.rectangle((x0, y0, x1, y1), outline=b.color, width=line)
        if not b.label:
            continue
        left, top, right, bottom = draw.textbbox((0, 0), b.label, font=face)
        tx, ty = max(0.0, x0), max(0.0, y0)
        draw.rectangle((tx, ty, tx + right - left + 2 * line, ty + bottom - top + 2 * line), fill=b.color)
        draw.text((tx + line - left, ty + line - top), b.label, fill="white", font=face)
    return out
