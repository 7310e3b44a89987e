"""Catalog CSV writers for each source (CTL crops, FPI products, Fashion-MNIST) in the stylist.catalog schema.

CTL and FPI rows point at the images where they are (never copied). Fashion-MNIST has no files, so its
writer saves each item as a 112-px PNG (inverted: dark item on white, like a catalogue photo) beside the
CSV. Fashion-MNIST has no prices either: ``demo_price`` derives a stable pseudo-price from the id so
price filters ("under 50") can be demonstrated; these prices are made up and say nothing real.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from stylist.catalog import CatalogItem, write_catalog
from training.data.sources import FASHION_MNIST_CLASSES, fashion_mnist_class, load_ctl_crops, load_fpi
from training.data.splits import SPLITS, fashion_mnist_split, split_of

CATALOG_SOURCES = ("ctl", "fpi", "fashion-mnist")
FMNIST_IMAGE_SIDE = 112


def _in_split(product_id: str, split: str) -> bool:
    return split == "all" or split_of(product_id) == split


def demo_price(product_id: str) -> float:
    """A made-up but stable price between 9.99 and 199.99 (Fashion-MNIST has none; for demoing filters)."""
    bucket = int.from_bytes(hashlib.sha1(f"price:{product_id}".encode()).digest()[:4], "big")
    return round(9.99 + 5 * (bucket % 39), 2)


def ctl_catalog(root: str | Path | None, split: str = "all", limit: int | None = None) -> list[CatalogItem]:
    """CTL crops as products: id = crop id, category = canonical class, style_id = board signature."""
    items = []
    for crop in load_ctl_crops(root):
        if not _in_split(crop.id, split):
            continue
        number = crop.id.rsplit("_", 1)[-1]
        items.append(CatalogItem(id=crop.id, image=str(crop.path.resolve()), name=f"{crop.category} #{number}",
                                 category=crop.category, style_id=crop.board,
                                 extra={"ctl_label": crop.raw_category, "split": split_of(crop.id)}))
    return items[:limit]


def fpi_catalog(root: str | Path | None, split: str = "all", limit: int | None = None) -> list[CatalogItem]:
    """FPI products: name = productDisplayName, color = baseColour, category = articleType (+ gender, usage, ...)."""
    items = []
    for it in load_fpi(root):
        if not _in_split(it.id, split):
            continue
        items.append(CatalogItem(
            id=it.id, image=str(it.path.resolve()), name=it.title, category=it.article_type, color=it.color,
            extra={"gender": it.gender, "masterCategory": it.master_category, "subCategory": it.sub_category,
                   "season": it.season, "usage": it.usage, "split": split_of(it.id)},
        ))
    return items[:limit]


def fashion_mnist_catalog(out_csv: str | Path, split: str = "test", limit: int | None = None,
                          root: str | Path | None = None) -> list[CatalogItem]:
    """Save Fashion-MNIST items as PNGs under ``<csv dir>/images/`` and return them as products.

    ``test`` (the default, and ``all``) is the t10k split committed in data/demo/ — the embedded demo catalog.
    """
    from training.data.boards import fashion_mnist_item

    images, labels, ids = fashion_mnist_split("test" if split == "all" else split, root)
    folder = Path(out_csv).parent / "images"
    folder.mkdir(parents=True, exist_ok=True)
    count = len(ids) if limit is None else min(limit, len(ids))
    items = []
    for k in tqdm(range(count), desc="fashion-mnist images", unit="img"):
        path = folder / f"{ids[k]}.png"
        if not path.exists():
            item = fashion_mnist_item(images[k], FMNIST_IMAGE_SIDE - 12)  # a small white margin
            canvas = Image.new("RGB", (FMNIST_IMAGE_SIDE, FMNIST_IMAGE_SIDE), (255, 255, 255))
            canvas.paste(item, ((FMNIST_IMAGE_SIDE - item.width) // 2, (FMNIST_IMAGE_SIDE - item.height) // 2))
            canvas.save(path)
        fm_label = FASHION_MNIST_CLASSES[int(labels[k])]
        number = ids[k].rsplit("-", 1)[-1]
        items.append(CatalogItem(id=ids[k], image=str(path.resolve()), name=f"Fashion-MNIST {fm_label} #{number}",
                                 category=fashion_mnist_class(labels[k]), price=demo_price(ids[k]),
                                 extra={"fmnist_label": fm_label}))
    return items


def write_source_catalog(source: str, out_csv: str | Path, root: str | Path | None = None, split: str = "all",
                         limit: int | None = None) -> tuple[Path, int]:
    """Write the catalog CSV of one source; returns the path and the number of products."""
    if source not in CATALOG_SOURCES:
        raise ValueError(f"source must be one of {', '.join(CATALOG_SOURCES)}, not {source!r}")
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or all, not {split!r}")
    if source == "ctl":
        items = ctl_catalog(root, split, limit)
    elif source == "fpi":
        items = fpi_catalog(root, split, limit)
    else:
        items = fashion_mnist_catalog(out_csv, split, limit, root)
    return write_catalog(items, out_csv), len(items)
