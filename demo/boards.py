"""The demo's sample boards: catalog products pasted onto white boards, plus one photo-like board.

Composed from the demo catalog's own products, so exact matches can show up among the results; the
photo-like board (wooden-floor backdrop, tilt, JPEG noise) shows what a phone photo does to a search.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from stylist.catalog import CatalogItem
from stylist.query import category_of

BOARD_SIDE = 640
OUTFITS = {"outfit": ("Shirts & Tops", "Pants", "Shoes"), "second": ("Dresses", "Handbags", "Shoes"),
           "photo": ("Coats & Jackets", "Handbags")}


def _paste_item(board: Image.Image, path: str, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Fit a product (white margin trimmed, white cut out) into ``box``; returns its pixel box."""
    from training.data.paste import cutout_mask, trim_white

    with Image.open(path) as im:
        item = trim_white(im.convert("RGB"))
    x0, y0, x1, y1 = box
    scale = min((x1 - x0) / item.width, (y1 - y0) / item.height)
    item = item.resize((max(8, round(item.width * scale)), max(8, round(item.height * scale))), Image.BICUBIC)
    px, py = x0 + (x1 - x0 - item.width) // 2, y0 + (y1 - y0 - item.height) // 2
    board.paste(item, (px, py), cutout_mask(item))
    return px, py, px + item.width, py + item.height


def _photo_backdrop(rng: np.random.Generator) -> Image.Image:
    """A warm wooden-floor-like backdrop with noise: what a phone photo of clothes on a floor looks like."""
    h = w = BOARD_SIDE
    y = np.linspace(0, 1, h)[:, None]
    stripes = 0.5 + 0.5 * np.sin(np.linspace(0, 28, w)[None, :] + rng.normal(0, 0.3, (h, 1)))
    base = np.stack([190 - 40 * y + 15 * stripes, 160 - 40 * y + 10 * stripes, 120 - 30 * y + 5 * stripes], -1)
    base = base + rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))


def compose_boards(items: list[CatalogItem], out_dir: Path, seed: int = 0) -> dict[str, tuple[Path, list[str]]]:
    """Boards of catalog products: name -> (image path, product ids on it)."""
    rng = np.random.default_rng(seed)
    by_cat: dict[str, list[CatalogItem]] = {}
    for it in items:
        by_cat.setdefault(category_of(it.category) or it.category, []).append(it)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = [(20, 20, 310, 310), (330, 20, 620, 620), (20, 330, 310, 620)]
    boards = {}
    for name, wanted in OUTFITS.items():
        present = [c for c in wanted if by_cat.get(c)] or sorted(by_cat, key=lambda c: -len(by_cat[c]))[:3]
        chosen = [by_cat[c][int(rng.integers(len(by_cat[c])))] for c in present]
        photo = name == "photo"
        board = _photo_backdrop(rng) if photo else Image.new("RGB", (BOARD_SIDE, BOARD_SIDE), (255, 255, 255))
        for it, cell in zip(chosen, [(60, 60, 400, 580), (400, 300, 610, 600)] if photo else cells):
            _paste_item(board, it.image, cell)
        if photo:
            board = board.rotate(4, resample=Image.BICUBIC, fillcolor=(150, 120, 90))
        path = out_dir / f"{name}.jpg"
        board.save(path, quality=70 if photo else 92)
        boards[name] = (path, [it.id for it in chosen])
    return boards
