"""Training and validation images for the garment namer, decoded once into a compact uint8 cache.

Three sources, each split by id like every other model (``training.data.splits.split_of``):

``photo``      the CC0 photos (real garments on a bed, floor, hanger) with their GrabCut box; training draws
               the whole photo, the box, or a random part of it (the detector often boxes only a sleeve);
``ctl``        CTL catalog crops on white (what board items look like);
``composite``  crops of catalog items pasted on real backgrounds (``training.data.wild.render_composite``).

Images are stored downscaled (photos ≤ 192 px, crops ≤ 128 px) in one flat buffer with shapes and offsets,
so an epoch never decodes a JPEG.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.schema import CLASSES
from training.data.sources import load_ctl_crops
from training.data.splits import split_of
from training.data.wild_boxes import load_wild_boxes

PHOTO_SIDE = 192
CROP_SIDE = 128
CACHE_VERSION = 1


@dataclass
class ImageSet:
    """Variable-size uint8 RGB images with a class index, a source kind and (photos) a box each."""

    buffer: np.ndarray  # flat uint8
    offsets: np.ndarray  # int64, start of each image in ``buffer``
    shapes: np.ndarray  # int32 N×3 (h, w, 3)
    labels: np.ndarray  # int64 class index in CLASSES
    kinds: np.ndarray  # str: photo / ctl / composite
    boxes: np.ndarray  # int32 N×4 (x0, y0, x1, y1) in the stored image; the whole image for crops

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> np.ndarray:
        h, w, c = self.shapes[i]
        start = int(self.offsets[i])
        return self.buffer[start:start + h * w * c].reshape(h, w, c)

    def subset(self, idx: np.ndarray) -> "ImageSet":
        idx = np.asarray(idx, dtype=np.int64)
        parts = [self.image(int(i)).ravel() for i in idx]
        sizes = np.asarray([p.size for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else np.zeros(0, np.int64)
        buffer = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
        return ImageSet(buffer, offsets, self.shapes[idx], self.labels[idx], self.kinds[idx], self.boxes[idx])

    def save(self, path: Path) -> None:
        np.savez(path, buffer=self.buffer, offsets=self.offsets, shapes=self.shapes, labels=self.labels,
                 kinds=self.kinds, boxes=self.boxes, version=CACHE_VERSION)

    @classmethod
    def load(cls, path: Path) -> "ImageSet":
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != CACHE_VERSION:
                raise ValueError(f"{path}: cache version {int(z['version'])}, expected {CACHE_VERSION}")
            return cls(z["buffer"], z["offsets"], z["shapes"], z["labels"], z["kinds"], z["boxes"])


class _Builder:
    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.shapes: list[tuple[int, int, int]] = []
        self.labels: list[int] = []
        self.kinds: list[str] = []
        self.boxes: list[list[int]] = []

    def add(self, img: Image.Image, category: str, kind: str, box: list[float] | None, side: int) -> None:
        img = img.convert("RGB")
        scale = min(1.0, side / max(img.size))
        if scale < 1:
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
        h, w = arr.shape[:2]
        if box is None:
            b = [0, 0, w, h]
        else:
            b = [int(np.clip(round(v * scale), 0, lim)) for v, lim in zip(box, (w, h, w, h))]
            if b[2] - b[0] < 2 or b[3] - b[1] < 2:
                b = [0, 0, w, h]
        self.parts.append(arr.ravel())
        self.shapes.append((h, w, 3))
        self.labels.append(CLASSES.index(category))
        self.kinds.append(kind)
        self.boxes.append(b)

    def build(self) -> ImageSet:
        sizes = np.asarray([p.size for p in self.parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return ImageSet(np.concatenate(self.parts), offsets, np.asarray(self.shapes, np.int32),
                        np.asarray(self.labels, np.int64), np.asarray(self.kinds), np.asarray(self.boxes, np.int32))


def add_photos(builder: _Builder, records: list[dict]) -> None:
    for rec in tqdm(records, desc="photos", unit="img"):
        with Image.open(rec["path"]) as img:
            builder.add(img, rec["category"], "photo", rec["box"], PHOTO_SIDE)


def add_ctl(builder: _Builder, root: str | Path | None, split: str, limit: int | None, seed: int) -> None:
    crops = sorted((c for c in load_ctl_crops(root) if split_of(c.id) == split), key=lambda c: c.id)
    if limit is not None and limit < len(crops):
        keep = np.random.default_rng([seed, 1]).choice(len(crops), limit, replace=False)
        crops = [crops[i] for i in sorted(keep)]
    for c in tqdm(crops, desc=f"ctl {split}", unit="img"):
        with Image.open(c.path) as img:
            builder.add(img, c.category, "ctl", None, CROP_SIDE)


def add_composites(builder: _Builder, root: str | Path | None, split: str, box_records: list[dict], n_boards: int,
                   seed: int) -> None:
    """Crops of the items of ``n_boards`` composites (1–3 catalog items on a real background) with 0–15 %
    context around each box, as a detector box would cut them."""
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources, render_composite

    src = load_wild_sources(root, box_records, load_board_sources(root, False, False))
    for i in tqdm(range(n_boards), desc=f"composites {split}", unit="board"):
        rng = np.random.default_rng([seed, 21, i])
        board, rec = render_composite(src, split, 320, rng)
        for b in rec["boxes"]:
            x0, y0, x1, y1 = b["box"]
            mx, my = (x1 - x0) * rng.uniform(0, 0.15), (y1 - y0) * rng.uniform(0, 0.15)
            crop = board.crop((max(0, round(x0 - mx)), max(0, round(y0 - my)),
                               min(board.width, round(x1 + mx)), min(board.height, round(y1 + my))))
            builder.add(crop, b["category"], "composite", None, CROP_SIDE)


def build_sets(root: str | Path | None, out: Path, val_boxes: Path, photo_limit: int | None = None,
               ctl_limit: int | None = None, composites: int = 1500, val_ctl: int = 600, val_composites: int = 150,
               seed: int = 0) -> tuple[Path, Path]:
    """Write ``out/train.npz`` and ``out/val.npz`` (once; existing files are kept). Train GrabCut boxes are
    computed into ``out/wild-boxes-train.jsonl``; val boxes come from ``val_boxes`` (computed when missing)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train.npz", out / "val.npz"
    train_boxes = load_wild_boxes(root, out / "wild-boxes-train.jsonl", splits=("train",))
    if not paths[0].exists():
        b = _Builder()
        records = train_boxes[:photo_limit] if photo_limit else train_boxes
        add_photos(b, records)
        add_ctl(b, root, "train", ctl_limit, seed)
        if composites:
            add_composites(b, root, "train", train_boxes, composites, seed)
        b.build().save(paths[0])
    if not paths[1].exists():
        b = _Builder()
        vboxes = load_wild_boxes(root, val_boxes, splits=("val",))
        add_photos(b, vboxes[:photo_limit] if photo_limit else vboxes)
        add_ctl(b, root, "val", val_ctl, seed)
        if val_composites:
            add_composites(b, root, "val", vboxes, val_composites, seed)
        b.build().save(paths[1])
    return paths
