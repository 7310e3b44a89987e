"""Loaders for the real data sources (CTL crops + layouts, FPI, CC0 clothing photos, Fashion-MNIST).

Every loader takes a data root laid out like ``../shared/data`` (or a mini bundle written by
``stylist data pack``) and raises ``DataMissingError`` saying where the public original lives.
"""
from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylist.config import REPO_ROOT, load_config
from stylist.errors import DataMissingError
from stylist.schema import CLASSES, canonical_class

SOURCES_HELP = (
    "The data root holds ctl/ (Complete the Look crops from github.com/eyereece/fashion-recommender-cv and "
    "layouts from github.com/eileenforwhat/complete-the-look-dataset), fpi/ (Kaggle 'Fashion Product Images "
    "(Small)'), clothing/ (github.com/alexeygrigorev/clothing-dataset, CC0). Point STYLIST_DATA or --data at it "
    "(developers have it at ../shared/data)."
)
FASHION_MNIST_HELP = (
    "Fashion-MNIST is missing: install it with `apt-get install dataset-fashion-mnist` (files land in "
    "/usr/share/datasets/fashion-mnist/), or download the four IDX files from "
    "github.com/zalandoresearch/fashion-mnist (MIT) into that folder."
)
APT_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DEMO_DIR = REPO_ROOT / "data" / "demo"
FASHION_MNIST_SUBSET = "train-subset.npz"  # the pack's compact train split (fashion-mnist/ in a bundle)

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_TO_CLASS: dict[str, str] = {
    "T-shirt/top": "Shirts & Tops", "Pullover": "Shirts & Tops", "Shirt": "Shirts & Tops",
    "Trouser": "Pants", "Dress": "Dresses", "Coat": "Coats & Jackets",
    "Sandal": "Shoes", "Sneaker": "Shoes", "Ankle boot": "Shoes", "Bag": "Handbags",
}
assert set(FASHION_MNIST_TO_CLASS.values()) <= set(CLASSES)


@dataclass(frozen=True)
class CtlCrop:
    """One Complete the Look product crop; ``category`` is already canonical (one of CLASSES)."""

    id: str
    path: Path
    category: str
    raw_category: str
    board: str


@dataclass(frozen=True)
class LayoutBox:
    """One item box of a real style board, normalised to the board (x, y = top-left)."""

    category: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class FpiItem:
    """One Fashion Product Images catalogue photo with its colour and real title."""

    id: str
    path: Path
    gender: str
    master_category: str
    sub_category: str
    article_type: str
    color: str
    season: str
    usage: str
    title: str


@dataclass(frozen=True)
class ClothingPhoto:
    """One CC0 photo of clothes in the wild (used as a cluttered background)."""

    path: Path
    label: str
    kids: bool = False  # the dataset marks children's clothes; the demo catalog leaves them out


def resolve_data_root(path: str | Path | None = None) -> Path:
    """The data root: ``path`` if given, else Config.data_dir (STYLIST_DATA or ../shared/data)."""
    root = Path(path).expanduser() if path is not None else load_config().data_dir
    if root is None:
        raise DataMissingError(f"no data root found (STYLIST_DATA is unset and ../shared/data is absent). {SOURCES_HELP}")
    root = Path(root)
    if not root.is_dir():
        raise DataMissingError(f"data root {root} does not exist. {SOURCES_HELP}")
    return root


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataMissingError(f"{what} not found at {path}. {SOURCES_HELP}")
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def load_ctl_crops(root: str | Path | None = None) -> list[CtlCrop]:
    """CTL crops whose label maps to a detection class (Rings → Jewelry; other rare labels dropped)."""
    ctl = _need(resolve_data_root(root) / "ctl", "ctl/ (Complete the Look crops)")
    crops = []
    for row in _read_csv(_need(ctl / "crops.csv", "ctl/crops.csv")):
        category = canonical_class(row["category"])
        if category is None:
            continue
        crops.append(CtlCrop(id=row["id"], path=ctl / row["file"], category=category,
                             raw_category=row["category"], board=row.get("board_signature", "")))
    return crops


def load_ctl_layouts(root: str | Path | None = None) -> dict[str, list[LayoutBox]]:
    """Real board layouts by board signature (tab-separated rows; the header line uses spaces)."""
    path = _need(resolve_data_root(root) / "ctl" / "layouts_test.tsv", "ctl/layouts_test.tsv")
    layouts: dict[str, list[LayoutBox]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 6 or parts[0] == "image_signature":
                continue  # the header (space-separated) or a malformed line
            sig, x, y, w, h, label = parts
            category = canonical_class(label.strip())
            try:
                box = LayoutBox(category or "", float(x), float(y), float(w), float(h))
            except ValueError:
                continue
            if category is None or box.w <= 0 or box.h <= 0:
                continue
            layouts.setdefault(sig, []).append(box)
    return layouts


def load_fpi(root: str | Path | None = None) -> list[FpiItem]:
    """FPI products that have an image (title = productDisplayName, color = baseColour)."""
    fpi = _need(resolve_data_root(root) / "fpi", "fpi/ (Fashion Product Images)")
    images = fpi / "images"
    present = {p.stem for p in _need(images, "fpi/images").iterdir()}
    items = []
    for row in _read_csv(_need(fpi / "styles.csv", "fpi/styles.csv")):
        if row["id"] not in present:
            continue
        items.append(FpiItem(
            id=row["id"], path=images / f"{row['id']}.jpg", gender=row.get("gender", ""),
            master_category=row.get("masterCategory", ""), sub_category=row.get("subCategory", ""),
            article_type=row.get("articleType", ""), color=row.get("baseColour", ""),
            season=row.get("season", ""), usage=row.get("usage", ""), title=row.get("productDisplayName", ""),
        ))
    return items


def load_clothing(root: str | Path | None = None) -> list[ClothingPhoto]:
    """CC0 clothing photos listed in clothing/images.csv that exist on disk."""
    clothing = _need(resolve_data_root(root) / "clothing", "clothing/ (CC0 clothing photos)")
    rows = _read_csv(_need(clothing / "images.csv", "clothing/images.csv"))
    photos = [ClothingPhoto(clothing / "images" / f"{r['image']}.jpg", r.get("label", ""),
                            r.get("kids", "").lower() == "true") for r in rows]
    return [p for p in photos if p.path.is_file()]


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _bundle_dirs(root: str | Path | None) -> list[Path]:
    dirs = []
    if root is not None:
        dirs.append(Path(root) / "fashion-mnist")
    cfg_root = load_config().data_dir
    if cfg_root is not None:
        dirs.append(Path(cfg_root) / "fashion-mnist")
    return dirs


def load_fashion_mnist(split: str = "test", root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (uint8 N×28×28, dark item on black as published) and labels (0..9).

    ``test`` is looked for in the repo's data/demo/, then the Debian package folder, then a bundle;
    ``train`` in a bundle given as ``root`` first, then the Debian package, then the configured data root.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    prefix = "t10k" if split == "test" else "train"
    if split == "test":
        folders = [DEMO_DIR, APT_FASHION_MNIST, *_bundle_dirs(root)]
    else:
        explicit = [Path(root) / "fashion-mnist"] if root is not None else []
        folders = [*explicit, APT_FASHION_MNIST, *_bundle_dirs(None)]
    for folder in folders:
        images, labels = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
        if images.is_file() and labels.is_file():
            return _read_idx(images), _read_idx(labels)
        subset = folder / FASHION_MNIST_SUBSET
        if split == "train" and subset.is_file():
            with np.load(subset) as npz:
                return npz["images"], npz["labels"]
    raise DataMissingError(f"{FASHION_MNIST_HELP} (looked in {', '.join(str(f) for f in folders)})")


def fashion_mnist_class(label: int) -> str:
    """The detection class (one of CLASSES) of a Fashion-MNIST label 0..9."""
    return FASHION_MNIST_TO_CLASS[FASHION_MNIST_CLASSES[int(label)]]
