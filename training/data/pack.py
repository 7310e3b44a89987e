"""Pack a mini data root (same layout as ../shared/data, resized images) small enough to travel to a GPU machine.

Budgets (the device transfer is 64 MiB for everything): ``ctl,clothing,fashion-mnist`` ≤ 40 MB together,
``fpi`` ≤ 30 MB alone (it travels in a second call). Every loader and ``generate_boards`` accept the result.
"""
from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from training.data.sources import FASHION_MNIST_SUBSET, load_clothing, load_ctl_crops, load_fashion_mnist, load_fpi, resolve_data_root
from training.data.splits import SPLITS, split_of

PARTS = ("ctl", "clothing", "fashion-mnist", "fpi")
DEFAULT_PARTS = ("ctl", "clothing", "fashion-mnist")
BUDGET_MB = {"ctl,clothing,fashion-mnist": 40.0, "fpi": 30.0}


def _shrink(src: Path, dst: Path, max_side: int, quality: int) -> None:
    with Image.open(src) as img:
        img = img.convert("RGB")
        img.thumbnail((max_side, max_side), Image.LANCZOS)
        img.save(dst, quality=quality, optimize=True)


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def pack_ctl(root: Path, out: Path, max_side: int = 128, quality: int = 75) -> None:
    """Crops of the detection classes (resized), their crops.csv rows, and the layouts file as is."""
    (out / "ctl" / "crops").mkdir(parents=True, exist_ok=True)
    crops = load_ctl_crops(root)
    with (out / "ctl" / "crops.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "file", "category", "board_signature"])
        for crop in tqdm(crops, desc="pack ctl", unit="crop"):
            rel = Path("crops") / crop.path.name
            _shrink(crop.path, out / "ctl" / rel, max_side, quality)
            writer.writerow([crop.id, rel.as_posix(), crop.raw_category, crop.board])
    shutil.copyfile(root / "ctl" / "layouts_test.tsv", out / "ctl" / "layouts_test.tsv")


def pack_clothing(root: Path, out: Path, n: int = 300, max_side: int = 320, quality: int = 75) -> None:
    """About ``n`` background photos, spread over the splits (at least n/6 each for val and test)."""
    (out / "clothing" / "images").mkdir(parents=True, exist_ok=True)
    photos = sorted(load_clothing(root), key=lambda p: p.path.name)
    by_split = {s: [p for p in photos if split_of(p.path.stem) == s] for s in SPLITS}
    quota = {"train": n - 2 * (n // 6), "val": n // 6, "test": n // 6}
    chosen = [p for s in SPLITS for p in by_split[s][:quota[s]]]
    with (out / "clothing" / "images.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "label", "kids"])
        for photo in tqdm(chosen, desc="pack clothing", unit="photo"):
            _shrink(photo.path, out / "clothing" / "images" / photo.path.name, max_side, quality)
            writer.writerow([photo.path.stem, photo.label, "False"])


def pack_fashion_mnist(root: Path, out: Path, n: int = 8000) -> None:
    """The first ``n`` Fashion-MNIST train images (ids fmnist-train-0.. stay valid) as one compressed npz."""
    images, labels = load_fashion_mnist("train", root=root)  # the root's own copy, else the apt package
    (out / "fashion-mnist").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "fashion-mnist" / FASHION_MNIST_SUBSET, images=images[:n], labels=labels[:n])


def pack_fpi(root: Path, out: Path, max_side: int = 64, quality: int = 75, limit: int | None = 27_000) -> None:
    """A hash-random ``limit`` of FPI products (all splits; 27k of 37.5k fit 30 MB), images ≤ ``max_side``."""
    (out / "fpi" / "images").mkdir(parents=True, exist_ok=True)
    items = load_fpi(root)
    if limit is not None:
        items = sorted(items, key=lambda it: hashlib.sha1(f"pack:{it.id}".encode()).digest())[:limit]  # hash-random
    keep = {it.id for it in items}
    with (root / "fpi" / "styles.csv").open(newline="", encoding="utf-8-sig") as src, \
            (out / "fpi" / "styles.csv").open("w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        writer.writerows(row for row in reader if row and row[0].strip() in keep)
    for item in tqdm(items, desc="pack fpi", unit="photo"):
        _shrink(item.path, out / "fpi" / "images" / item.path.name, max_side, quality)


def pack_data(root: str | Path | None, out_dir: str | Path, parts: tuple[str, ...] = DEFAULT_PARTS,
              max_side: int = 128, fpi_limit: int | None = 27_000) -> dict[str, float]:
    """Write the mini data root for ``parts`` into ``out_dir``; returns each part's size in MB."""
    root, out = resolve_data_root(root), Path(out_dir)
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    out.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, float] = {}
    for part in parts:
        shutil.rmtree(out / part, ignore_errors=True)
        if part == "ctl":
            pack_ctl(root, out, max_side)
        elif part == "clothing":
            pack_clothing(root, out)
        elif part == "fashion-mnist":
            pack_fashion_mnist(root, out)
        else:
            pack_fpi(root, out, limit=fpi_limit)
        sizes[part] = _size_mb(out / part)
    return sizes
