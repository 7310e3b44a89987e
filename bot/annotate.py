"""Draw the detected items as numbered boxes on the shopper's photo, so buttons '1 · Dresses' point somewhere."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from stylist.results import Detection

MAX_SIDE = 1280  # what Telegram shows anyway; keeps the upload far below the 10 MB photo limit
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#f032e6", "#9a6324")


def annotate(image: Image.Image, detections: list[Detection]) -> bytes:
    """A JPEG of ``image`` (downscaled to MAX_SIDE) with each detection's box and number (index + 1)."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    canvas = image.convert("RGB")
    if scale < 1.0:
        canvas = canvas.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 200))
    font = ImageFont.load_default(size=max(12, round(max(canvas.size) / 25)))
    for det in detections:
        color = COLORS[det.index % len(COLORS)]
        x0, y0, x1, y1 = (v * scale for v in det.box)
        draw.rectangle((x0, y0, x1, y1), outline=color, width=line)
        label = str(det.index + 1)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        pad = line
        tx, ty = max(0.0, x0), max(0.0, y0)
        draw.rectangle((tx, ty, tx + right - left + 2 * pad, ty + bottom - top + 2 * pad), fill=color)
        draw.text((tx + pad - left, ty + pad - top), label, fill="white", font=font)
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=88)
    return out.getvalue()
