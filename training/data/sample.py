"""Contact sheet of a few generated boards of each style with their boxes and class names drawn."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stylist.draw import LabelledBox, draw_boxes as draw_labelled, font
from stylist.schema import CLASSES
from training.data.boards import RENDERERS, STYLES, load_board_sources
from training.data.splits import SPLITS

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 200, 200),
           (240, 50, 230), (150, 150, 20), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128), (90, 90, 90)]


def draw_boxes(img: Image.Image, boxes: list[dict], caption: str = "") -> Image.Image:
    """A copy of ``img`` with each box outlined in its class colour and labelled with the class name."""
    drawn = draw_labelled(img, [LabelledBox((b["box"][0], b["box"][1], b["box"][2] - 1, b["box"][3] - 1), b["category"],
                                            PALETTE[CLASSES.index(b["category"]) % len(PALETTE)]) for b in boxes],
                          width=max(2, img.width // 250), font_size=max(11, img.width // 45))
    if caption:
        face = font(max(11, img.width // 45))
        ImageDraw.Draw(drawn).text((4, drawn.height - face.size - 6), caption, fill=(0, 0, 0), font=face,
                                   stroke_width=2, stroke_fill=(255, 255, 255))
    return drawn


def write_sample(root: str | Path | None, out: str | Path, n: int = 12, seed: int = 0, imgsz: int = 640,
                 cols: int = 4, tile: int = 420) -> Path:
    """Render ``n`` boards cycling through the styles and splits, draw their boxes, tile them into one PNG."""
    src = load_board_sources(root, need_photos=True, need_fmnist=True)
    tiles = []
    for k in range(n):
        style = STYLES[k % len(STYLES)] if k < 2 * len(STYLES) else ("board" if k % 2 else STYLES[k % len(STYLES)])
        split = SPLITS[(k // len(STYLES)) % len(SPLITS)]
        rng = np.random.default_rng([seed, 1_000_000 + k])
        board, record = RENDERERS[style](src, split, imgsz, rng)
        drawn = draw_boxes(board, record["boxes"], f"{style} · {split} · {len(record['boxes'])} items")
        drawn.thumbnail((tile, tile))
        tiles.append(drawn)
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * (tile + 8) + 8, rows * (tile + 8) + 8), (60, 60, 60))
    for k, t in enumerate(tiles):
        x, y = 8 + (k % cols) * (tile + 8), 8 + (k // cols) * (tile + 8)
        sheet.paste(t, (x + (tile - t.width) // 2, y + (tile - t.height) // 2))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
