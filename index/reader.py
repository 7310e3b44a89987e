"""Stage 1 of the index build: read the catalog CSV, fingerprint every product, decode the images.

The fingerprint (hash of the image bytes + the row's metadata + the models' signature) is what makes
re-running a build cheap: a product whose fingerprint is already in the index is skipped.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from PIL import Image

from stylist.catalog import CatalogItem, Reject, read_catalog_rows
from stylist.errors import BadImageError
from stylist.images import load_image


FINGERPRINT_CHARS = 20  # 80 bits of sha1: change detection for one catalog, and half the bytes on disk


@dataclass(frozen=True)
class ProductRow:
    """A catalog product with its fingerprint, or the reason its image could not be read."""

    item: CatalogItem
    fingerprint: str = ""
    error: str = ""


def fingerprint(item: CatalogItem, image_bytes: bytes, model_signature: str) -> str:
    """sha1 of image bytes + row metadata + model signature: changes exactly when the stored data would."""
    row = {"name": item.name, "category": item.category, "color": item.color, "price": item.price,
           "url": item.url, "style_id": item.style_id, "image": item.image}
    h = hashlib.sha1(image_bytes)
    h.update(json.dumps(row, sort_keys=True).encode())
    h.update(model_signature.encode())
    return h.hexdigest()[:FINGERPRINT_CHARS]


def _fingerprint_row(item: CatalogItem, model_signature: str) -> ProductRow:
    try:
        data = Path(item.image).read_bytes()
    except OSError as exc:
        return ProductRow(item, error=f"cannot read {item.image}: {exc.strerror or exc}")
    if not data:
        return ProductRow(item, error=f"{item.image} is empty (0 bytes)")
    return ProductRow(item, fingerprint(item, data, model_signature))


def read_catalog_products(catalog: str | Path, model_signature: str, workers: int = 4
                          ) -> tuple[list[ProductRow], list[Reject]]:
    """Every usable catalog row, fingerprinted (unreadable files carry an error), and the CSV's rejected rows."""
    rows = read_catalog_rows(catalog)
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda it: _fingerprint_row(it, model_signature), rows.items)), rows.rejects


def read_products(catalog: str | Path, model_signature: str, workers: int = 4) -> list[ProductRow]:
    """``read_catalog_products`` without the CSV's rejected rows."""
    return read_catalog_products(catalog, model_signature, workers)[0]


def decode_row(row: ProductRow, max_pixels: int, min_side: int | None) -> tuple[ProductRow, Image.Image | None, str]:
    """(row, upright RGB image, "") or (row, None, why it cannot be read)."""
    try:
        return row, load_image(row.item.image, max_pixels, min_side), ""
    except BadImageError as exc:
        return row, None, str(exc)


def decode_batches(rows: Sequence[ProductRow], batch_size: int, max_pixels: int, min_side: int | None = None,
                   workers: int = 2) -> Iterator[list[tuple[ProductRow, Image.Image | None, str]]]:
    """Batches of decoded images, the next batch decoding in threads while the current one is embedded.

    ``min_side`` lets large JPEGs decode at a reduced scale (see ``stylist.images.load_image``): the
    encoders look at 128-px crops, not 2,000-px product shots."""
    chunks = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    with ThreadPoolExecutor(workers) as pool:
        pending = [pool.submit(decode_row, r, max_pixels, min_side) for r in chunks[0]] if chunks else []
        for k in range(len(chunks)):
            current = [f.result() for f in pending]
            pending = ([pool.submit(decode_row, r, max_pixels, min_side) for r in chunks[k + 1]]
                       if k + 1 < len(chunks) else [])
            yield current
