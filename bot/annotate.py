"""Draw the detected items as numbered boxes on the shopper's photo, so buttons '1 · Dresses' point somewhere."""
from __future__ import annotations

import io

from PIL import Image

from stylist.draw import draw_boxes, numbered
from stylist.results import Detection

MAX_SIDE = 1280  # what Telegram shows anyway; keeps the upload far below the 10 MB photo limit


def annotate(image: Image.Image, detections: list[Detection]) -> bytes:
    """A JPEG of ``image`` (downscaled to MAX_SIDE) with each detection's box and number (index + 1)."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    canvas = image.convert("RGB")
    if scale < 1.0:
        canvas = canvas.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    canvas = draw_boxes(canvas, numbered(detections, first=1, scale=scale))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=88)
    return out.getvalue()
