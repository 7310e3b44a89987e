"""Fixtures: tiny made-up data roots in the ../shared/data layout, for training entry-point tests (no real data)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylist.schema import CLASSES

COLOURS = {"Red": (200, 30, 30), "Blue": (30, 60, 200), "Black": (20, 20, 20), "Green": (40, 160, 60)}


def _item(rng: np.random.Generator, rgb: tuple[int, int, int], w: int, h: int) -> Image.Image:
    arr = np.full((h, w, 3), 255, np.uint8)
    x0, y0 = int(w * 0.15), int(h * 0.1)
    arr[y0:h - y0, x0:w - x0] = np.clip(np.array(rgb) + rng.integers(-20, 20, 3), 0, 255)
    return Image.fromarray(arr)


def make_ctl_root(root: Path, n: int = 48) -> Path:
    """``root/ctl/crops.csv`` + crops: n products over 4 classes and colours, white background."""
    rng = np.random.default_rng(0)
    (root / "ctl" / "crops").mkdir(parents=True, exist_ok=True)
    with (root / "ctl" / "crops.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "file", "category", "board_signature"])
        for i in range(n):
            colour = list(COLOURS.values())[i % 4]
            name = f"crops/fake_{i:04d}.jpg"
            _item(rng, colour, int(rng.integers(30, 70)), int(rng.integers(30, 70))).save(root / "ctl" / name)
            w.writerow([f"fake_{i:04d}", name, CLASSES[i % 4], f"board{i // 3}"])
    return root


def make_fpi_root(root: Path, n: int = 48) -> Path:
    """``root/fpi/styles.csv`` + 60×80 images with titles, base colours and article types."""
    rng = np.random.default_rng(1)
    (root / "fpi" / "images").mkdir(parents=True, exist_ok=True)
    articles = ["Tshirts", "Shirts", "Jeans", "Casual Shoes"]
    with (root / "fpi" / "styles.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year",
                    "usage", "productDisplayName"])
        for i in range(n):
            colour = list(COLOURS)[i % 4]
            article = articles[(i // 4) % 4]
            _item(rng, COLOURS[colour], 60, 80).save(root / "fpi" / "images" / f"{1000 + i}.jpg")
            w.writerow([1000 + i, "Men", "Apparel", "Topwear", article, colour, "Summer", 2012, "Casual",
                        f"Brand{i} Men {colour} {article}"])
    return root


@pytest.fixture()
def fake_ctl_root(tmp_path) -> Path:
    return make_ctl_root(tmp_path / "fake_ctl")


@pytest.fixture()
def fake_fpi_root(tmp_path) -> Path:
    return make_fpi_root(tmp_path / "fake_fpi")
