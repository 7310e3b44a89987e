"""The index build runner: reader -> embedder -> writer, resumable and incremental (upsert by fingerprint).

A product is done only when both collections hold it with its current fingerprint, so re-running after
an interruption redoes at most the batch that was in flight, and re-running on an unchanged catalog
embeds nothing. Unreadable images are reported and skipped, never fatal.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tqdm import tqdm

from index.embedder import ProductEmbedder, product_metadata
from index.reader import decode_batches, read_products
from index.writer import IndexWriter
from stylist.config import Config
from stylist.store import CatalogStore


@dataclass
class BuildReport:
    """What a build did; ``skipped`` lists (id, reason) for products whose image could not be used."""

    location: str
    total: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        rate = f", {self.embedded / self.seconds:.0f} items/s" if self.embedded and self.seconds else ""
        text = (f"index at {self.location}: {self.total} products in catalog — {self.added} added, "
                f"{self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped, "
                f"{len(self.removed)} removed ({self.seconds:.1f} s{rate})")
        return text


DECODE_MIN_SIDE = 256  # JPEGs decode at a reduced scale down to this short side (both encoders read ≤ 128 px)


def build_index(config: Config, catalog: str | Path, embedder, clip, *, store: CatalogStore | None = None,
                batch_size: int = 256, prune: bool = False, progress: bool = True) -> BuildReport:
    """Index (or update) every product of ``catalog`` into the store named by ``config``."""
    start = time.perf_counter()
    store = store or CatalogStore.open(config)
    writer = IndexWriter(store)
    products = ProductEmbedder(embedder, clip)
    report = BuildReport(location=store.location)
    rows = read_products(catalog, products.signature)
    report.total = len(rows)
    report.skipped = [(r.item.id, r.error) for r in rows if r.error]
    existing = store.fingerprints()
    todo = [r for r in rows if not r.error and existing.get(r.item.id) != r.fingerprint]
    report.unchanged = sum(1 for r in rows if not r.error and existing.get(r.item.id) == r.fingerprint)
    store.set_models(products.models_info())
    batch_size = max(1, min(batch_size, writer.batch_size))
    bar = tqdm(total=len(todo), desc="indexing", unit="item", disable=not progress or not todo)
    # three things overlap: the next batch decodes (reader threads), this batch's metadata (colour from
    # pixels) is worked out in a helper thread while the encoders run, and the previous batch is written
    # to Chroma in the background; one write in flight at a time keeps memory flat and the order intact
    with ThreadPoolExecutor(1) as meta_pool, ThreadPoolExecutor(1) as write_pool:
        writing = None
        for batch in decode_batches(todo, batch_size, config.max_pixels, min_side=DECODE_MIN_SIDE):
            good = [(row, img) for row, img, err in batch if img is not None]
            report.skipped += [(row.item.id, err) for row, img, err in batch if img is None]
            if good:
                metas = meta_pool.submit(lambda g=good: [product_metadata(r.item, im, r.fingerprint) for r, im in g])
                visual, clip_vecs = products.embed([img for _, img in good])
                ids = [row.item.id for row, _ in good]
                if writing is not None:
                    writing.result()
                writing = write_pool.submit(writer.write, ids, visual, clip_vecs, metas.result())
                for row, _ in good:
                    if row.item.id in existing:
                        report.updated += 1
                    else:
                        report.added += 1
            bar.update(len(batch))
        if writing is not None:
            writing.result()
    bar.close()
    if prune:
        catalog_ids = {r.item.id for r in rows}
        report.removed = writer.remove([i for i in existing if i not in catalog_ids])
    report.seconds = time.perf_counter() - start
    return report
