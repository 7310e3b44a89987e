"""Detector training data from the world: real CC0 photos, catalog items on real backgrounds, cluttered boards.

Three kinds of image, each drawn only from products, photos and layouts of its own split:

``photo``      a real CC0 photo of one garment with its GrabCut box (training.data.wild_boxes);
``composite``  1–3 catalog items (CTL crops, FPI products) on a real background cut from a CC0 photo's
               border (floor, bed, wall — outside the garment's box), with a soft shadow, a lighting and
               white-balance shift, a small rotation, sometimes cut off by the frame;
``clutter``    a real CTL layout filled with crops (as the bundled boards) on white, off-white or grey,
               plus unlabelled distractors — FPI non-apparel articles (belts, socks, ties, wallets-free
               pouches, bottles), drawn cosmetics (perfume, lipstick, nail polish), text blocks, logos and
               watermarks — so the detector learns not to call them clothes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from stylist.query import category_of
from stylist.schema import CLASSES
from training.data.boards import BoardSources, overlap_share, render_layout_board
from training.data.paste import cut_product
from training.data.sources import load_fpi
from training.data.splits import SPLITS, split_of

# FPI article types that are not one of our classes but do appear on real style boards: unlabelled clutter.
DISTRACTOR_ARTICLES: frozenset[str] = frozenset({
    "Belts", "Socks", "Ties", "Cufflinks", "Mobile Pouch", "Water Bottle", "Umbrellas", "Accessory Gift Set",
    "Travel Accessory", "Shoe Accessories", "Tablet Sleeve", "Ties and Cufflinks", "Perfume and Body Mist",
})
WORDS = ("new in", "SALE", "the edit", "must have", "Autumn / Winter", "link in bio", "#ootd", "shop now",
         "STYLE NOTES", "what to wear", "Paris", "weekend", "© pinterest", "free shipping", "LOOKBOOK")


@dataclass
class WildSources:
    """Per split: labelled catalog items (path, class), distractor article paths, CC0 photo box records."""

    items: dict[str, list[tuple[str, str]]]
    distractors: dict[str, list[str]]
    photos: dict[str, list[dict]]
    boards: BoardSources | None = None


def load_wild_sources(root: str | Path | None, box_records: list[dict], boards: BoardSources | None,
                      fpi_share: float = 0.3) -> WildSources:
    """Catalog items (CTL crops + a share of FPI shoes and accessories: FPI apparel is mostly worn by a model)
    and distractors, split by product id."""
    items: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    distractors: dict[str, list[str]] = {s: [] for s in SPLITS}
    if boards is not None:
        for (split, category), crops in sorted(boards.crops.items()):
            items[split].extend((str(c.path), category) for c in crops)
    rng = np.random.default_rng(0)
    for it in load_fpi(root):
        split = split_of(it.id)
        if it.article_type in DISTRACTOR_ARTICLES:
            distractors[split].append(str(it.path))
            continue
        category = category_of(it.article_type)
        if category in CLASSES and it.master_category in ("Accessories", "Footwear") and rng.random() < fpi_share:
            items[split].append((str(it.path), category))
    photos: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for rec in box_records:
        photos[rec["split"]].append(rec)
    return WildSources(items, distractors, photos, boards)


# --- image helpers ---------------------------------------------------------------------------------
@lru_cache(maxsize=3000)
def _product(path: str) -> tuple[Image.Image, Image.Image]:
    """A catalog image trimmed of its white margin, with its soft cut-out mask (cached per process)."""
    with Image.open(path) as img:
        return cut_product(img)


def _pick(items: list, rng: np.random.Generator):
    return items[int(rng.integers(len(items)))]


def _board_size(imgsz: int, rng: np.random.Generator) -> tuple[int, int]:
    """Portrait or landscape (height/width 0.75–1.33) with the longest side ``imgsz``."""
    aspect = rng.uniform(0.75, 1.33)
    if aspect >= 1:
        return max(32, round(imgsz / aspect)), imgsz
    return imgsz, max(32, round(imgsz * aspect))


def border_background(photo: Image.Image, garment_box: list[int], size: tuple[int, int],
                      rng: np.random.Generator) -> Image.Image:
    """A real surface (floor, bed, wall) for ``size``: the widest strip of ``photo`` outside the garment box,
    cover-resized, maybe mirrored, lightly blurred (it is upscaled, as a phone's out-of-focus background)."""
    W, H = photo.size
    x0, y0, x1, y1 = garment_box
    strips = [(0, 0, x0, H), (x1, 0, W, H), (0, 0, W, y0), (0, y1, W, H)]
    strips = [s for s in strips if (s[2] - s[0]) >= 12 and (s[3] - s[1]) >= 12]
    if strips:
        areas = np.array([(s[2] - s[0]) * (s[3] - s[1]) for s in strips], dtype=float)
        strip = strips[int(rng.choice(len(strips), p=areas / areas.sum()))]
    else:  # the garment fills the photo: a corner is the best we have
        side = max(12, min(W, H) // 5)
        strip = (0, 0, side, side) if rng.random() < 0.5 else (W - side, H - side, W, H)
    patch = photo.convert("RGB").crop(strip)
    w, h = size
    scale = max(w / patch.width, h / patch.height)
    patch = patch.resize((max(w, round(patch.width * scale)), max(h, round(patch.height * scale))), Image.BILINEAR)
    ox, oy = int(rng.integers(0, patch.width - w + 1)), int(rng.integers(0, patch.height - h + 1))
    img = patch.crop((ox, oy, ox + w, oy + h))
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))


def relight(img: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """A white-balance (per-channel gain) and brightness/contrast shift, as indoor lighting gives."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    gains = 1.0 + rng.normal(0, 0.06 * strength, 3)
    bright = rng.uniform(1 - 0.25 * strength, 1 + 0.12 * strength)
    contrast = rng.uniform(1 - 0.2 * strength, 1 + 0.1 * strength)
    mean = arr.mean()
    arr = ((arr - mean) * contrast + mean) * gains[None, None, :] * bright
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def paste_item(board: Image.Image, item: Image.Image, mask: Image.Image, xy: tuple[int, int],
               rng: np.random.Generator, shadow: bool = True, min_visible: float = 0.5) -> list[int] | None:
    """Paste ``item`` (already sized/rotated) through ``mask`` with an optional soft drop shadow; return the
    tight box of its visible pixels, or None when less than ``min_visible`` of it is in the frame."""
    if shadow:
        dx, dy = int(rng.integers(2, 9)), int(rng.integers(2, 11))
        blur = rng.uniform(3, 8)
        strength = rng.uniform(0.25, 0.5)
        alpha = mask.filter(ImageFilter.GaussianBlur(blur)).point(lambda v: int(v * strength))
        board.paste(Image.new("RGB", item.size, (20, 20, 20)), (xy[0] + dx, xy[1] + dy), alpha)
    board.paste(item, xy, mask)
    m = np.asarray(mask) > 127
    total = int(m.sum())
    if total == 0:
        return None
    W, H = board.size
    x0, y0 = max(0, -xy[0]), max(0, -xy[1])
    x1, y1 = min(m.shape[1], W - xy[0]), min(m.shape[0], H - xy[1])
    if x1 <= x0 or y1 <= y0:
        return None
    vis = m[y0:y1, x0:x1]
    if vis.sum() < min_visible * total:
        return None
    rows, cols = np.flatnonzero(vis.any(axis=1)), np.flatnonzero(vis.any(axis=0))
    box = [xy[0] + x0 + int(cols[0]), xy[1] + y0 + int(rows[0]), xy[0] + x0 + int(cols[-1]) + 1, xy[1] + y0 + int(rows[-1]) + 1]
    if box[2] - box[0] < 6 or box[3] - box[1] < 6:
        return None
    return box


def _transform(item: Image.Image, mask: Image.Image, size: tuple[int, int], rng: np.random.Generator,
               max_angle: float = 12.0) -> tuple[Image.Image, Image.Image]:
    """Resize, then a small rotation and a slight perspective-like shear (item and mask together)."""
    item, mask = item.resize(size, Image.BILINEAR), mask.resize(size, Image.BILINEAR)
    shear = rng.uniform(-0.08, 0.08)
    if abs(shear) > 0.02:
        w, h = size
        extra = int(abs(shear) * h)
        coeffs = (1, shear, -extra if shear > 0 else 0, 0, 1, 0)
        item = item.transform((w + extra, h), Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=(255, 255, 255))
        mask = mask.transform((w + extra, h), Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=0)
    angle = rng.uniform(-max_angle, max_angle)
    if abs(angle) > 1:
        item = item.rotate(angle, Image.BILINEAR, expand=True, fillcolor=(255, 255, 255))
        mask = mask.rotate(angle, Image.BILINEAR, expand=True, fillcolor=0)
    return item, mask


# --- the three kinds ------------------------------------------------------------------------------
def render_photo(src: WildSources, split: str, imgsz: int, rng: np.random.Generator,
                 record: dict | None = None) -> tuple[Image.Image, dict]:
    """A real CC0 photo (resized so its longest side is ``imgsz`` at most) and its GrabCut box."""
    rec = record or _pick(src.photos[split], rng)
    with Image.open(rec["path"]) as img:
        photo = img.convert("RGB")
    scale = min(1.0, imgsz / max(photo.size))
    if scale < 1:
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.BILINEAR)
    box = [round(v * scale) for v in rec["box"]]
    return photo, {"photo": rec["id"], "garment": rec["garment"], "method": rec["method"],
                   "boxes": [{"product_id": f"cc0-{rec['id']}", "category": rec["category"], "box": box}]}


def render_composite(src: WildSources, split: str, imgsz: int, rng: np.random.Generator,
                     n_items: int | None = None) -> tuple[Image.Image, dict]:
    """1–3 catalog items of ``split`` on a real background from a CC0 photo border, shadowed and relit."""
    rec = _pick(src.photos[split], rng)
    W, H = _board_size(imgsz, rng)
    with Image.open(rec["path"]) as photo:
        board = border_background(photo, rec["box"], (W, H), rng)
    board = relight(board, rng, 0.7)
    n = n_items or int(rng.choice([1, 1, 2, 2, 3]))
    out: list[dict] = []
    for _ in range(n):
        path, category = _pick(src.items[split], rng)
        item, mask = _product(path)
        frac = rng.uniform(0.45, 0.85) if n == 1 else rng.uniform(0.25, 0.5)
        scale = frac * min(W, H) / max(item.width, item.height)
        size = (max(4, round(item.width * scale)), max(4, round(item.height * scale)))
        item, mask = _transform(relight(item, rng, 0.6), mask, size, rng)
        for _try in range(8):
            margin_x, margin_y = item.width // 5, item.height // 5  # partial crops: up to 20 % off the frame
            xy = (int(rng.integers(-margin_x, max(-margin_x + 1, W - item.width + margin_x + 1))),
                  int(rng.integers(-margin_y, max(-margin_y + 1, H - item.height + margin_y + 1))))
            cand = [xy[0], xy[1], xy[0] + item.width, xy[1] + item.height]
            if all(overlap_share(cand, o["box"]) < 0.2 for o in out):
                break
        else:
            continue
        box = paste_item(board, item, mask, xy, rng, shadow=rng.random() < 0.8, min_visible=0.6)
        if box:
            out.append({"product_id": Path(path).stem, "category": category, "box": box})
    if rng.random() < 0.5:
        board = relight(board, rng, 0.5)  # the whole shot lit differently
    return board, {"background": rec["id"], "boxes": out}


def draw_cosmetic(rng: np.random.Generator, side: int) -> tuple[Image.Image, Image.Image]:
    """A drawn perfume bottle, lipstick or nail-polish bottle (RGB + mask): things boards show beside clothes."""
    kind = int(rng.integers(3))
    w, h = (side, side) if kind == 0 else (max(8, side // 3), side)
    img = Image.new("RGB", (w, h), (255, 255, 255))
    mask = Image.new("L", (w, h), 0)
    d, dm = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    body = tuple(int(c) for c in rng.integers(40, 240, 3))
    cap = tuple(int(c) for c in rng.integers(0, 200, 3))
    if kind == 0:  # perfume: wide glass body, narrow neck, cap
        shapes = [((0.12, 0.38, 0.88, 1.0), body, 0.12), ((0.4, 0.26, 0.6, 0.4), (200, 200, 205), 0.0),
                  ((0.3, 0.0, 0.7, 0.27), cap, 0.08)]
    elif kind == 1:  # lipstick: cap + bullet
        shapes = [((0.05, 0.45, 0.95, 1.0), cap, 0.1), ((0.15, 0.25, 0.85, 0.46), (210, 190, 120), 0.0),
                  ((0.25, 0.0, 0.75, 0.26), body, 0.3)]
    else:  # nail polish: small bottle + tall cap
        shapes = [((0.0, 0.45, 1.0, 1.0), body, 0.2), ((0.2, 0.0, 0.8, 0.46), cap, 0.1)]
    for (a, b, c, e), colour, r in shapes:
        xy = (round(a * (w - 1)), round(b * (h - 1)), round(c * (w - 1)), round(e * (h - 1)))
        d.rounded_rectangle(xy, radius=int(r * w), fill=colour)
        dm.rounded_rectangle(xy, radius=int(r * w), fill=255)
    hl = (round(0.2 * w), round(0.5 * h), round(0.3 * w), round(0.9 * h))
    d.rectangle(hl, fill=tuple(min(255, c + 50) for c in body))  # a highlight: glass, not a flat block
    return img, mask.filter(ImageFilter.GaussianBlur(0.6))


def draw_text_block(board: Image.Image, rng: np.random.Generator, avoid: list[list[int]]) -> None:
    """A caption, logo-like word or translucent watermark somewhere on the board (never labelled)."""
    W, H = board.size
    text = str(rng.choice(WORDS))
    if rng.random() < 0.3:
        text = text + "\n" + str(rng.choice(WORDS))
    size = int(max(9, min(W, H) * rng.uniform(0.03, 0.09)))
    font = ImageFont.load_default(size=size)
    layer = Image.new("RGBA", board.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    x, y = int(rng.uniform(0, W * 0.7)), int(rng.uniform(0, H * 0.9))
    kind = rng.random()
    if kind < 0.35:  # watermark: big, pale, maybe across an item
        fill = (255, 255, 255, int(rng.integers(70, 140))) if rng.random() < 0.5 else (0, 0, 0, int(rng.integers(30, 80)))
        d.multiline_text((x, y), text, font=ImageFont.load_default(size=size * 2), fill=fill)
    elif kind < 0.6:  # logo: a word in a filled circle or box
        r = size * 1.6
        colour = tuple(int(c) for c in rng.integers(0, 255, 3)) + (255,)
        if rng.random() < 0.5:
            d.ellipse((x, y, x + 2 * r, y + 2 * r), fill=colour)
        else:
            d.rectangle((x, y, x + 3 * r, y + 1.4 * r), fill=colour)
        d.text((x + r * 0.3, y + r * 0.4), text.split("\n")[0][:8], font=font, fill=(255, 255, 255, 255))
    else:  # text block
        shade = int(rng.integers(0, 120))
        d.multiline_text((x, y), text, font=font, fill=(shade, shade, shade, 255))
    board.paste(layer, (0, 0), layer)


def add_distractors(src: WildSources, split: str, board: Image.Image, boxes: list[list[int]], n: int,
                    rng: np.random.Generator, max_overlap: float = 0.12, odds: tuple[float, float] = (0.5, 0.8),
                    sizes: tuple[float, float] = (0.1, 0.3), shadow_odds: float | None = 0.3) -> None:
    """Paste ``n`` unlabelled distractors where they hide at most ``max_overlap`` of any box in ``boxes`` (so
    labelled boxes stay true): an FPI non-apparel article below ``odds[0]``, a drawn cosmetic below
    ``odds[1]``, else a text block/logo/watermark; side ``sizes`` of the board's shorter side. ``shadow_odds``:
    chance of a shadow (None: never, and no random draw — each caller's random sequence stays as it was)."""
    W, H = board.size
    for _ in range(n):
        u = rng.random()
        if u < odds[0] and src.distractors[split]:
            item, mask = _product(_pick(src.distractors[split], rng))
        elif u < odds[1]:
            item, mask = draw_cosmetic(rng, int(rng.uniform(0.12, 0.25) * min(W, H)))
        else:
            draw_text_block(board, rng, boxes)
            continue
        side = rng.uniform(*sizes) * min(W, H)
        scale = side / max(item.width, item.height)
        size = (max(4, round(item.width * scale)), max(4, round(item.height * scale)))
        item, mask = item.resize(size, Image.BILINEAR), mask.resize(size, Image.BILINEAR)
        for _try in range(10):
            xy = (int(rng.integers(0, max(1, W - size[0]))), int(rng.integers(0, max(1, H - size[1]))))
            cand = [xy[0], xy[1], xy[0] + size[0], xy[1] + size[1]]
            if all(overlap_share(cand, b) < max_overlap for b in boxes):
                shadow = shadow_odds is not None and rng.random() < shadow_odds
                paste_item(board, item, mask, xy, rng, shadow=shadow)
                boxes.append(cand)
                break


def render_clutter(src: WildSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A real-layout board (labelled items) on white/off-white/grey with 1–4 unlabelled distractors."""
    assert src.boards is not None
    board, record = render_layout_board(src.boards, split, imgsz, rng)
    if rng.random() < 0.35:  # grey / off-white board: recolour the white backdrop only
        arr = np.asarray(board, dtype=np.float32)
        tone = np.array([rng.uniform(170, 245)] * 3) + rng.normal(0, 4, 3)
        white = (arr.min(axis=2, keepdims=True) >= 246).astype(np.float32)
        arr = arr * (1 - white) + tone[None, None, :] * white
        board = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        record["background"] = "grey"
    boxes = [b["box"] for b in record["boxes"]]
    add_distractors(src, split, board, boxes, int(rng.integers(1, 5)), rng, odds=(0.45, 0.75), sizes=(0.1, 0.28),
                    shadow_odds=None)
    record["distractors"] = boxes[len(record["boxes"]):]  # pasted ones (text blocks are not boxed)
    return board, record


RENDERERS = {"photo": render_photo, "composite": render_composite, "clutter": render_clutter}
