"""Boxes for the CC0 clothing photos (one garment each, no box given): GrabCut from a centred prior.

Each photo shows one garment on a bed, floor, hanger or person, roughly centred. GrabCut is seeded with a
rectangle 4 % inside the border (everything outside it is background), run on a ≤160-px copy for speed,
and the box is the extent of the largest foreground parts. When GrabCut fails (too little or nearly all
foreground: a garment filling the frame, a background the same colour as the garment) the fallback is the
central 90 % box, which on these photos is usually close.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

try:
    from tqdm import tqdm
except ImportError:
    tqdm = None

from stylist.schema import CLOTHING_CLASS_MAP
from training.data.sources import ClothingPhoto, load_clothing
from training.data.splits import split_of

WORK_SIDE = 160  # GrabCut runs on a copy this size (longest side): ~20 ms a photo
PRIOR_MARGIN = 0.04  # share of each side outside the GrabCut rectangle (definitely background)
FALLBACK_MARGIN = 0.05  # the fallback box drops this share on each side (central 90 %)
MIN_FG, MAX_FG = 0.06, 0.93  # foreground share of the prior rectangle outside which GrabCut "failed"


def fallback_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The central 90 % box of an image of ``size`` (w, h)."""
    w, h = size
    return (round(w * FALLBACK_MARGIN), round(h * FALLBACK_MARGIN),
            round(w * (1 - FALLBACK_MARGIN)), round(h * (1 - FALLBACK_MARGIN)))


def _largest_parts(fg: np.ndarray, min_share: float = 0.15) -> np.ndarray:
    """Foreground parts at least ``min_share`` of the largest one (drops specks of a patterned bedspread)."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= min_share * areas.max()) + 1
    return np.isin(labels, keep)


def grabcut_box(img: Image.Image, iterations: int = 4) -> tuple[tuple[int, int, int, int], str]:
    """(x0, y0, x1, y1) in pixels of ``img`` and how it was found ("grabcut" or "fallback")."""
    import cv2

    img = img.convert("RGB")
    W, H = img.size
    scale = min(1.0, WORK_SIDE / max(W, H))
    small = img.resize((max(8, round(W * scale)), max(8, round(H * scale))), Image.BILINEAR) if scale < 1 else img
    arr = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2BGR)
    h, w = arr.shape[:2]
    mx, my = max(1, round(w * PRIOR_MARGIN)), max(1, round(h * PRIOR_MARGIN))
    rect = (mx, my, w - 2 * mx, h - 2 * my)
    mask = np.zeros((h, w), np.uint8)
    try:
        cv2.grabCut(arr, mask, rect, np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64),
                    iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return fallback_box((W, H)), "fallback"
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    share = fg.sum() / float(rect[2] * rect[3])
    if not MIN_FG <= share <= MAX_FG:
        return fallback_box((W, H)), "fallback"
    fg = _largest_parts(fg)
    rows, cols = np.flatnonzero(fg.any(axis=1)), np.flatnonzero(fg.any(axis=0))
    x0, y0, x1, y1 = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
    if (x1 - x0) < 0.2 * w or (y1 - y0) < 0.2 * h:  # a fragment, not the garment
        return fallback_box((W, H)), "fallback"
    inv = 1.0 / scale
    return (max(0, round(x0 * inv)), max(0, round(y0 * inv)), min(W, round(x1 * inv)), min(H, round(y1 * inv))), "grabcut"


def photo_record(photo: ClothingPhoto) -> dict | None:
    """The photo's id, split, garment type, class, size and box; None for a type we have no class for."""
    category = CLOTHING_CLASS_MAP.get(photo.label)
    if category is None:
        return None
    with Image.open(photo.path) as img:
        box, method = grabcut_box(img)
        size = img.size
    return {"id": photo.path.stem, "path": str(photo.path), "split": split_of(photo.path.stem),
            "garment": photo.label, "category": category, "size": list(size), "box": list(box), "method": method}


def load_wild_boxes(root: str | Path | None, cache: str | Path | None = None, progress: bool = True,
                    splits: tuple[str, ...] | None = None) -> list[dict]:
    """Box records of the CC0 photos (of ``splits``, default all), computed once and cached as JSON lines at
    ``cache`` (if given). A cache holding more splits than asked for is filtered, not recomputed."""
    cache = Path(cache) if cache else None
    if cache is not None and cache.is_file():
        records = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in records if splits is None or r["split"] in splits]
    photos = sorted(load_clothing(root), key=lambda p: p.path.name)
    if splits is not None:
        photos = [p for p in photos if split_of(p.path.stem) in splits]
    it = tqdm(photos, desc="grabcut boxes", unit="photo", disable=not progress) if tqdm else photos
    records = [r for r in (photo_record(p) for p in it) if r is not None]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records
