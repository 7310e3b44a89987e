"""Crop datasets for the embedding models: CTL crops of one product split, with product id and class kept.

Models train on ``train`` crops only; ``val``/``test`` crops are held-out products for evaluation.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image
from tqdm import tqdm

from stylist.catalog import CatalogItem, write_catalog
from training.data.paste import cut_product
from training.data.sources import load_ctl_crops
from training.data.splits import SPLITS, split_of


def crop_dataset(root: str | Path | None, split: str) -> list[tuple[Path, str, str]]:
    """(image path, product id, category) of every CTL crop in ``split``, sorted by product id."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    crops = sorted((c for c in load_ctl_crops(root) if split_of(c.id) == split), key=lambda c: c.id)
    return [(c.path, c.id, c.category) for c in crops]


def write_crop_dataset(root: str | Path | None, out_dir: str | Path, split: str, size: int | None = None,
                       trim: bool = True) -> tuple[Path, int]:
    """Materialise a split: ``out/<split>/<id>.jpg`` (trimmed, optionally resized to fit ``size``) + ``<split>.csv``.

    The CSV is a catalog (id, image, category, ...), so it can also be indexed or read with read_catalog.
    """
    out = Path(out_dir)
    folder = out / split
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for path, product_id, category in tqdm(crop_dataset(root, split), desc=f"crops {split}", unit="crop"):
        with Image.open(path) as img:
            img = cut_product(img)[0] if trim else img.convert("RGB")
            if size:
                img.thumbnail((size, size), Image.LANCZOS)
            dst = folder / f"{product_id}.jpg"
            img.save(dst, quality=90)
        items.append(CatalogItem(id=product_id, image=str(dst.resolve()), name=f"{category} #{product_id.rsplit('_', 1)[-1]}",
                                 category=category, extra={"split": split}))
    return write_catalog(items, out / f"{split}.csv"), len(items)
