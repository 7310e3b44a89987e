"""Style-board generator: real CTL crops placed in real CTL layouts → an ultralytics YOLO dataset + manifest.

Three styles, each board drawn only from products (and layouts, photos) of its own split:
``board`` (a real layout filled with same-class crops on white / off-white / light texture),
``outfit`` (2–4 cut-out items on a CC0 clothing photo, for clutter) and ``demo`` (Fashion-MNIST
items on white, so the bundled detector also works on the embedded demo catalog).
Every board is a pure function of (seed, index): the output is identical for any worker count.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

try:
    from tqdm import tqdm
except ImportError:  # a bare GPU image: boards still generate, just without a progress bar
    tqdm = None

from stylist.errors import DataMissingError
from stylist.schema import CLASSES
from training.data.paste import cut_product, cutout_mask, draw_brand, photo_background, plain_background, trim_white
from training.data.sources import (
    CtlCrop, LayoutBox, fashion_mnist_class, load_clothing, load_ctl_crops, load_ctl_layouts, resolve_data_root,
)
from training.data.splits import SPLITS, fashion_mnist_split, split_of

STYLES = ("board", "outfit", "demo")
SPLIT_WEIGHTS = (0.8, 0.1, 0.1)
MIN_BOX_PX = 6


@dataclass
class BoardSources:
    """Everything a worker needs, grouped by split, in a deterministic order."""

    crops: dict[tuple[str, str], list[CtlCrop]]
    layouts: dict[str, list[tuple[str, list[LayoutBox]]]]
    photos: dict[str, list[Path]]
    class_weights: np.ndarray
    fmnist: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = field(default_factory=dict)


def load_board_sources(root: str | Path | None, need_photos: bool, need_fmnist: bool) -> BoardSources:
    """Load and split crops, layouts, photos and Fashion-MNIST once (in each worker)."""
    root = resolve_data_root(root)
    crops: dict[tuple[str, str], list[CtlCrop]] = {}
    for crop in sorted(load_ctl_crops(root), key=lambda c: c.id):
        crops.setdefault((split_of(crop.id), crop.category), []).append(crop)
    layouts: dict[str, list[tuple[str, list[LayoutBox]]]] = {s: [] for s in SPLITS}
    counts = np.zeros(len(CLASSES))
    for sig, boxes in sorted(load_ctl_layouts(root).items()):
        layouts[split_of(sig)].append((sig, boxes))
        for b in boxes:
            counts[CLASSES.index(b.category)] += 1
    for split in SPLITS:
        if not layouts[split]:
            raise DataMissingError(f"no real layouts fall in the {split} split (ctl/layouts_test.tsv too small?)")
        for sig, boxes in layouts[split]:
            missing = {b.category for b in boxes} - {c for (s, c) in crops if s == split}
            if missing:
                raise DataMissingError(f"no {split} crops of class(es) {sorted(missing)} for layout {sig}")
    photos: dict[str, list[Path]] = {s: [] for s in SPLITS}
    if need_photos:
        for photo in sorted(load_clothing(root), key=lambda p: p.path.name):
            photos[split_of(photo.path.stem)].append(photo.path)
        if not all(photos.values()):
            raise DataMissingError("clothing/ has no photo for some split; outfit boards need background photos")
    fmnist = {s: fashion_mnist_split(s, root) for s in SPLITS} if need_fmnist else {}
    return BoardSources(crops, layouts, photos, counts / counts.sum(), fmnist)


@lru_cache(maxsize=3000)
def _product(path: str) -> tuple[Image.Image, Image.Image]:
    """A crop trimmed of its white margin, with its soft cut-out mask (cached per worker)."""
    with Image.open(path) as img:
        return cut_product(img)


def _board_size(imgsz: int, rng: np.random.Generator) -> tuple[int, int]:
    aspect = rng.uniform(0.75, 1.33)  # height / width, like real portrait and landscape boards
    if aspect >= 1:
        return max(32, round(imgsz / aspect)), imgsz
    return imgsz, max(32, round(imgsz * aspect))


def _paste(board: Image.Image, item: Image.Image, mask: Image.Image, size: tuple[int, int], xy: tuple[int, int]
           ) -> list[int] | None:
    """Paste a resized item; return its tight box clipped to the board, or None when too little is visible."""
    w, h = size
    board.paste(item.resize((w, h), Image.BILINEAR), xy, mask.resize((w, h), Image.BILINEAR))
    x0, y0 = max(0, xy[0]), max(0, xy[1])
    x1, y1 = min(board.width, xy[0] + w), min(board.height, xy[1] + h)
    if x1 - x0 < MIN_BOX_PX or y1 - y0 < MIN_BOX_PX or (x1 - x0) * (y1 - y0) < 0.5 * w * h:
        return None
    return [x0, y0, x1, y1]


def _pick(items: list, rng: np.random.Generator):
    return items[int(rng.integers(len(items)))]


def render_layout_board(src: BoardSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A real CTL layout filled with random same-class crops of ``split``."""
    sig, boxes = _pick(src.layouts[split], rng)
    W, H = _board_size(imgsz, rng)
    board, background = plain_background((W, H), rng)
    zoom = rng.uniform(0.9, 1.06)  # small scale jitter of the whole layout about the centre
    order = rng.permutation(len(boxes))
    out = []
    for k in order:
        box = boxes[k]
        crop = _pick(src.crops[(split, box.category)], rng)
        item, mask = _product(str(crop.path))
        grow = rng.uniform(0.95, 1.15)  # neighbours touch or overlap a little, as on real boards
        bw, bh = box.w * W * zoom * grow, box.h * H * zoom * grow
        cx = (0.5 + ((box.x + box.w / 2) - 0.5) * zoom) * W
        cy = (0.5 + ((box.y + box.h / 2) - 0.5) * zoom) * H
        scale = min(bw / item.width, bh / item.height)
        w, h = max(2, round(item.width * scale)), max(2, round(item.height * scale))
        jx = rng.uniform(-0.3, 0.3) * (bw - w) + rng.normal(0, 0.008 * W)
        jy = rng.uniform(-0.3, 0.3) * (bh - h) + rng.normal(0, 0.008 * H)
        xy = (round(cx - w / 2 + jx), round(cy - h / 2 + jy))
        tight = _paste(board, item, mask, (w, h), xy)
        if tight:
            out.append({"product_id": crop.id, "category": crop.category, "box": tight})
    if rng.random() < 0.15:
        draw_brand(board, rng)
    return board, {"layout": sig, "background": background, "boxes": out}


def overlap_share(a: list[int], b: list[int]) -> float:
    """The share of the smaller of two boxes (x0, y0, x1, y1) that the other covers: how much of an item a
    pasted item or distractor would hide (IoU would let a small item vanish under a large one)."""
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / max(1, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


def render_outfit_board(src: BoardSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """2–4 cut-out crops of ``split`` on a real CC0 clothing photo (clutter the detector must ignore)."""
    photo_path = _pick(src.photos[split], rng)
    W, H = _board_size(imgsz, rng)
    with Image.open(photo_path) as photo:
        board = photo_background(photo, (W, H), rng)
    out: list[dict] = []
    for _ in range(int(rng.integers(2, 5))):
        category = CLASSES[int(rng.choice(len(CLASSES), p=src.class_weights))]
        crop = _pick(src.crops[(split, category)], rng)
        item, mask = _product(str(crop.path))
        side = rng.uniform(0.22, 0.45) * min(W, H)
        scale = side / max(item.width, item.height)
        w, h = max(2, round(item.width * scale)), max(2, round(item.height * scale))
        for _try in range(8):
            xy = (int(rng.integers(-w // 10, W - w + w // 10 + 1)), int(rng.integers(-h // 10, H - h + h // 10 + 1)))
            cand = [xy[0], xy[1], xy[0] + w, xy[1] + h]
            if all(overlap_share(cand, o["box"]) < 0.15 for o in out):
                break
        else:
            continue
        tight = _paste(board, item, mask, (w, h), xy)
        if tight:
            out.append({"product_id": crop.id, "category": crop.category, "box": tight})
    return board, {"layout": None, "background": photo_path.name, "boxes": out}


def fashion_mnist_item(image28: np.ndarray, side: int) -> Image.Image:
    """A Fashion-MNIST image as a catalogue photo: inverted (dark item on white), upscaled, trimmed."""
    img = Image.fromarray(255 - image28, "L").resize((side, side), Image.BICUBIC).convert("RGB")
    return trim_white(img)


def render_demo_board(src: BoardSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """1–4 Fashion-MNIST items of ``split`` on white in a simple grid (the embedded demo's look)."""
    images, labels, ids = src.fmnist[split]
    W, H = _board_size(imgsz, rng)
    shade = int(rng.integers(246, 256))
    board = Image.new("RGB", (W, H), (shade, shade, shade))
    n = int(rng.integers(1, 5))
    cols, rows = {1: (1, 1), 2: (2, 1) if W >= H else (1, 2), 3: (2, 2), 4: (2, 2)}[n]
    cells = rng.permutation(cols * rows)[:n]
    out = []
    for cell in cells:
        k = int(rng.integers(len(images)))
        cw, ch = W / cols, H / rows
        side = int(min(rng.uniform(60, 220) * imgsz / 640, 0.95 * min(cw, ch)))
        item = fashion_mnist_item(images[k], max(16, side))
        cx = (cell % cols + 0.5) * cw + rng.uniform(-0.5, 0.5) * max(0.0, cw - item.width)
        cy = (cell // cols + 0.5) * ch + rng.uniform(-0.5, 0.5) * max(0.0, ch - item.height)
        xy = (round(cx - item.width / 2), round(cy - item.height / 2))
        tight = _paste(board, item, cutout_mask(item), item.size, xy)
        if tight:
            out.append({"product_id": ids[k], "category": fashion_mnist_class(labels[k]), "box": tight})
    return board, {"layout": None, "background": "white", "boxes": out}


RENDERERS = {"board": render_layout_board, "outfit": render_outfit_board, "demo": render_demo_board}


def plan_board(seed: int, index: int, outfit_fraction: float, demo_fraction: float) -> tuple[str, str, np.random.Generator]:
    """Split and style of board ``index`` and the RNG that draws the rest of it (pure function of seed, index)."""
    rng = np.random.default_rng([seed, index])
    split = SPLITS[int(np.searchsorted(np.cumsum(SPLIT_WEIGHTS), rng.random(), side="right").clip(0, 2))]
    u = rng.random()
    style = "demo" if u < demo_fraction else ("outfit" if u < demo_fraction + outfit_fraction else "board")
    return split, style, rng


def yolo_lines(boxes: list[dict], size: tuple[int, int]) -> list[str]:
    """YOLO label lines ``cls xc yc w h`` (normalised) for manifest boxes."""
    W, H = size
    lines = []
    for b in boxes:
        x0, y0, x1, y1 = b["box"]
        lines.append(f"{CLASSES.index(b['category'])} {(x0 + x1) / 2 / W:.6f} {(y0 + y1) / 2 / H:.6f} "
                     f"{(x1 - x0) / W:.6f} {(y1 - y0) / H:.6f}")
    return lines


# --- worker side ---------------------------------------------------------------------------------
_STATE: dict = {}


def _init_worker(root: str, out_dir: str, imgsz: int, seed: int, outfit_fraction: float, demo_fraction: float) -> None:
    _STATE.update(out=Path(out_dir), imgsz=imgsz, seed=seed, fractions=(outfit_fraction, demo_fraction),
                  src=load_board_sources(root, outfit_fraction > 0, demo_fraction > 0))


def _make_board(index: int) -> dict:
    """Render, save and label board ``index``; return its manifest record."""
    split, style, rng = plan_board(_STATE["seed"], index, *_STATE["fractions"])
    board, record = RENDERERS[style](_STATE["src"], split, _STATE["imgsz"], rng)
    name = f"board_{index:06d}"
    image_rel = Path("images") / split / f"{name}.jpg"
    board.save(_STATE["out"] / image_rel, quality=int(rng.integers(60, 96)))
    (_STATE["out"] / "labels" / split / f"{name}.txt").write_text(
        "".join(line + "\n" for line in yolo_lines(record["boxes"], board.size)))
    return {"file": str(image_rel), "split": split, "style": style, "size": list(board.size), **record}


def write_data_yaml(out_dir: Path) -> Path:
    """The ultralytics dataset file (absolute path, train/val/test folders, class names in CLASSES order)."""
    import yaml

    path = out_dir / "data.yaml"
    spec = {"path": str(out_dir.resolve()), "train": "images/train", "val": "images/val", "test": "images/test",
            "nc": len(CLASSES), "names": {i: name for i, name in enumerate(CLASSES)}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return path


def generate_boards(root: str | Path | None, out_dir: str | Path, n_boards: int, imgsz: int = 640, seed: int = 0,
                    outfit_fraction: float = 0.2, demo_fraction: float = 0.1, workers: int | None = None,
                    progress: bool = True) -> Path:
    """Write ``n_boards`` boards as a YOLO dataset under ``out_dir``; returns the data.yaml path."""
    root = resolve_data_root(root)
    out = Path(out_dir)
    for sub in ("images", "labels"):
        shutil.rmtree(out / sub, ignore_errors=True)  # stale boards (and ultralytics *.cache) never mix in
        for split in SPLITS:
            (out / sub / split).mkdir(parents=True, exist_ok=True)
    init = (str(root), str(out), imgsz, seed, outfit_fraction, demo_fraction)
    workers = max(1, min(workers or os.cpu_count() or 1, n_boards or 1))
    if workers == 1:
        _init_worker(*init)
    else:
        # fail fast in the parent with a clear message, not n tracebacks from the workers
        load_board_sources(root, outfit_fraction > 0, demo_fraction > 0)
    records: list[dict] = []
    bar = tqdm(total=n_boards, desc="boards", unit="board", disable=not progress) if tqdm else None
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        if workers == 1:
            results = map(_make_board, range(n_boards))
            pool = None
        else:
            pool = Pool(workers, initializer=_init_worker, initargs=init)
            results = pool.imap(_make_board, range(n_boards), chunksize=8)
        try:
            for record in results:
                manifest.write(json.dumps(record) + "\n")
                records.append(record)
                if bar is not None:
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.close()
                pool.join()
    return write_data_yaml(out)
