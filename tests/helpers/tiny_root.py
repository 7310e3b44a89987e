"""A tiny made-up data root laid out like ../shared/data (every class in every split), for data and eval tests."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stylist.schema import CLASSES
from training.data.splits import SPLITS, split_of

CROPS_PER_CLASS_AND_SPLIT = 2


def ids_in_split(prefix: str, split: str, n: int) -> list[str]:
    """The first ``n`` ids ``<prefix><k>`` whose hash falls in ``split`` (so every split gets data)."""
    out, k = [], 0
    while len(out) < n:
        if split_of(f"{prefix}{k}") == split:
            out.append(f"{prefix}{k}")
        k += 1
    return out


def _product_image(rng: np.random.Generator, size: tuple[int, int] = (80, 100)) -> Image.Image:
    """A coloured shape on a white margin, like a catalogue crop."""
    img = Image.new("RGB", size, (255, 255, 255))
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    ImageDraw.Draw(img).ellipse((10, 12, size[0] - 10, size[1] - 8), fill=colour)
    return img


def build_tiny_root(root: Path) -> Path:
    """Write ctl/, fpi/, clothing/ and fashion-mnist/ with a handful of files each."""
    rng = np.random.default_rng(0)
    (root / "ctl" / "crops").mkdir(parents=True)
    rows = []
    for ci, cls in enumerate(CLASSES):
        for split in SPLITS:
            for pid in ids_in_split(f"b{ci}x_{cls.replace(' ', '_')}_", split, CROPS_PER_CLASS_AND_SPLIT):
                rows.append((pid, f"crops/{pid}.jpg", cls, f"board{ci}"))
    rows.append(("rr_Rings_1", "crops/rr_Rings_1.jpg", "Rings", "boardR"))
    rows.append(("bb_Belts_1", "crops/bb_Belts_1.jpg", "Belts", "boardB"))
    for pid, file, _, _ in rows:
        _product_image(rng).save(root / "ctl" / file, quality=90)
    with (root / "ctl" / "crops.csv").open("w", newline="") as fh:  # CRLF like the real file
        writer = csv.writer(fh)
        writer.writerow(["id", "file", "category", "board_signature"])
        writer.writerows(rows)
    lines = ["image_signature bounding_x  bounding_y  bounding_width  bounding_height label"]
    for split in SPLITS:
        for k, sig in enumerate(ids_in_split("sig", split, 2)):
            classes = [CLASSES[(3 * k + j) % len(CLASSES)] for j in range(3)]
            boxes = [(0.05, 0.05, 0.4, 0.45), (0.5, 0.05, 0.45, 0.4), (0.2, 0.55, 0.5, 0.4)]
            lines += [f"{sig}\t{x}\t{y}\t{w}\t{h}\t{c}" for (x, y, w, h), c in zip(boxes, classes)]
    lines.append("sigdrop\t0.1\t0.1\t0.2\t0.2\tBelts")  # a dropped label never reaches a layout
    (root / "ctl" / "layouts_test.tsv").write_text("\n".join(lines) + "\n")

    (root / "fpi" / "images").mkdir(parents=True)
    with (root / "fpi" / "styles.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season",
                         "year", "usage", "productDisplayName"])
        for k in range(12):
            writer.writerow([1000 + k, "Women", "Apparel", "Topwear", "Tshirts", "Red", "Summer", "2012", "Casual",
                             f"Brand, Women Red Tshirt {k}"])
            _product_image(rng, (60, 80)).save(root / "fpi" / "images" / f"{1000 + k}.jpg")
        writer.writerow([9999, "Men", "Apparel", "Topwear", "Shirts", "Blue", "Fall", "2011", "Casual", "No image"])

    (root / "clothing" / "images").mkdir(parents=True)
    with (root / "clothing" / "images.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "label", "kids"])
        for split in SPLITS:
            for pid in ids_in_split("photo-", split, 2):
                arr = rng.integers(60, 200, (160, 200, 3), dtype=np.uint8)
                Image.fromarray(arr).save(root / "clothing" / "images" / f"{pid}.jpg")
                writer.writerow([pid, "T-Shirt", "False"])

    (root / "fashion-mnist").mkdir()
    images = np.zeros((60, 28, 28), dtype=np.uint8)
    images[:, 4:24, 6:22] = rng.integers(100, 255, (60, 20, 16), dtype=np.uint8)  # a bright item on black
    np.savez_compressed(root / "fashion-mnist" / "train-subset.npz", images=images,
                        labels=np.arange(60, dtype=np.uint8) % 10)
    return root
