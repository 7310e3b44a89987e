"""Draw a contact sheet: each query image with numbered boxes, then the top results for each item."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw

from stylist.draw import draw_boxes, font, item_color, numbered
from stylist.results import Detection, ItemResult

THUMB = 112
QUERY_SIDE = 300
PAD = 10


@dataclass
class SheetRow:
    """One search to show: the query image (or None for text-only), its detections, results and a title."""

    title: str
    image: Image.Image | None
    detections: Sequence[Detection] = ()
    results: Sequence[ItemResult] = field(default_factory=list)


def _thumb(path: str, side: int) -> Image.Image:
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((side, side))
            canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    except OSError:
        ImageDraw.Draw(canvas).text((6, side // 2), "missing", fill=(200, 0, 0))
    return canvas


def contact_sheet(rows: Sequence[SheetRow], out: str | Path, per_item: int = 5) -> Path:
    """Write the sheet PNG: one block per row; in it the query and, per item, ``per_item`` results."""
    small, big = font(13), font(17)
    blocks = []
    for row in rows:
        n_items = max(1, len(row.results))
        item_h = THUMB + 40
        height = max(QUERY_SIDE + 40, n_items * item_h + 40)
        width = QUERY_SIDE + 3 * PAD + 130 + per_item * (THUMB + PAD)
        block = Image.new("RGB", (width, height), (250, 250, 250))
        draw = ImageDraw.Draw(block)
        draw.text((PAD, 8), row.title, fill=(0, 0, 0), font=big)
        if row.image is not None:
            query = draw_boxes(row.image, numbered(row.detections, first=0))  # item numbers as the CLI's --item
            query.thumbnail((QUERY_SIDE, QUERY_SIDE))
            block.paste(query, (PAD, 34))
        else:
            draw.text((PAD, 60), "(text only)", fill=(90, 90, 90), font=big)
        x0 = QUERY_SIDE + 2 * PAD
        for k, res in enumerate(row.results):
            y = 34 + k * item_h
            det = next((d for d in row.detections if d.index == res.detection), None)
            color = item_color(res.detection) if res.detection is not None else (60, 60, 60)
            head = f"item {res.detection}" if res.detection is not None else (
                "whole image" if row.image is not None else "text")
            draw.text((x0, y + 4), head, fill=color, font=big)
            if det is not None:
                draw.text((x0, y + 26), det.label[:16], fill=(60, 60, 60), font=small)
            understood = res.query.describe()
            for line_no, part in enumerate(understood.split(" · ")[:4] if understood else []):
                draw.text((x0, y + 46 + 16 * line_no), part[:20], fill=(120, 60, 0), font=small)
            for j, p in enumerate(res.products[:per_item]):
                px = x0 + 130 + j * (THUMB + PAD)
                block.paste(_thumb(p.image, THUMB), (px, y))
                caption = f"{p.score:.2f} {p.color}" + ("" if p.price is None else f" {p.price:.0f}")
                draw.text((px, y + THUMB + 2), caption[:18], fill=(30, 30, 30), font=small)
            if not res.products:
                draw.text((x0 + 130, y + 40), "no products match", fill=(150, 0, 0), font=big)
        blocks.append(block)
    width = max(b.width for b in blocks)
    sheet = Image.new("RGB", (width, sum(b.height for b in blocks) + PAD * len(blocks)), (255, 255, 255))
    y = 0
    for b in blocks:
        sheet.paste(b, (0, y))
        y += b.height + PAD
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
