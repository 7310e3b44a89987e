"""The index build runner: reader -> embedder -> writer, resumable and incremental (upsert by fingerprint).

A product is done only when both collections hold it with its current fingerprint, so re-running after
an interruption (even ``kill -9``) redoes at most the batch that was in flight, and re-running on an
unchanged catalog embeds nothing. Bad rows (CSV problems, unreadable or non-image files) are rejected per
row and reported, never fatal. One builder per embedded index (index.lock).

The models' signature is recorded as final only once every product in the index carries vectors of the
current models; until then it reads "<signature> (unfinished build)", which searches refuse, so an index
half re-embedded after a model change is never searched as if it were consistent.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tqdm import tqdm

from index.embedder import ProductEmbedder, product_metadata
from index.lock import index_write_lock
from index.reader import ProductRow, decode_batches, read_catalog_products
from index.writer import IndexWriter
from stylist.catalog import Reject
from stylist.config import Config
from stylist.store import UNFINISHED, CatalogStore


@dataclass
class BuildReport:
    """What a build did; ``rejected`` lists the catalog rows that were not indexed and why."""

    location: str
    total: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rejected: list[Reject] = field(default_factory=list)
    stale: int = 0
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(id, reason) per rejected row."""
        return [(r.id, r.reason) for r in self.rejected]

    def summary(self) -> str:
        rate = f", {self.embedded / self.seconds:.0f} items/s" if self.embedded and self.seconds else ""
        text = (f"index at {self.location}: {self.total} rows in catalog — {self.added} added, "
                f"{self.updated} updated, {self.unchanged} unchanged, {len(self.rejected)} rejected, "
                f"{len(self.removed)} removed ({self.seconds:.1f} s{rate})")
        if self.stale:
            text += (f"\n{self.stale} indexed product(s) are not in this catalog and hold vectors of other models: "
                     "searches refuse this index until they are re-embedded or removed (--prune)")
        return text


DECODE_MIN_SIDE = 256  # JPEGs decode at a reduced scale down to this short side (both encoders read ≤ 128 px)


def _reject(row: ProductRow, reason: str) -> Reject:
    return Reject(row.item.line, row.item.id, reason, row.item.image)


def build_index(config: Config, catalog: str | Path, embedder, clip, *, store: CatalogStore | None = None,
                batch_size: int = 256, prune: bool = False, progress: bool = True) -> BuildReport:
    """Index (or update) every product of ``catalog`` into the store named by ``config``."""
    start = time.perf_counter()
    folder = store.path if store is not None else (None if config.chroma_url else config.db_dir)
    with index_write_lock(folder):
        store = store or CatalogStore.open(config)
        report = _build(store, catalog, ProductEmbedder(embedder, clip), config.max_pixels, batch_size, prune, progress)
    report.seconds = time.perf_counter() - start
    return report


def _build(store: CatalogStore, catalog: str | Path, products: ProductEmbedder, max_pixels: int, batch_size: int,
           prune: bool, progress: bool) -> BuildReport:
    writer = IndexWriter(store)
    report = BuildReport(location=store.location)
    rows, report.rejected = read_catalog_products(catalog, products.signature)
    report.total = len(rows) + len(report.rejected)
    report.rejected += [_reject(r, r.error) for r in rows if r.error]
    rows = [r for r in rows if not r.error]
    existing = store.fingerprints()
    present = store.all_ids()  # includes products an interrupted build wrote to one collection only
    todo = [r for r in rows if existing.get(r.item.id) != r.fingerprint]
    report.unchanged = len(rows) - len(todo)
    signature = products.signature
    consistent = store.models().get("signature") == signature
    store.set_models({**products.models_info(), "signature": signature if consistent else signature + UNFINISHED})
    batch_size = max(1, min(batch_size, writer.batch_size))
    bar = tqdm(total=len(todo), desc="indexing", unit="item", disable=not progress or not todo)
    # the next batch decodes in reader threads while this one is embedded, and this batch's colours (pixels +
    # CLIP's second opinion) and its Chroma write run in a background thread while the next batch is
    # embedded; one write in flight at a time keeps memory flat and the order intact
    def colour_and_write(good, visual, clip_vecs):
        colors = products.colors([row.item for row, _ in good], [img for _, img in good], clip_vecs)
        metas = [product_metadata(row.item, img, row.fingerprint, c) for (row, img), c in zip(good, colors)]
        writer.write([row.item.id for row, _ in good], visual, clip_vecs, metas)

    with ThreadPoolExecutor(1) as write_pool:
        writing = None
        for batch in decode_batches(todo, batch_size, max_pixels, min_side=DECODE_MIN_SIDE):
            good = [(row, img) for row, img, err in batch if img is not None]
            report.rejected += [_reject(row, err) for row, img, err in batch if img is None]
            if good:
                visual, clip_vecs = products.embed([img for _, img in good])
                if writing is not None:
                    writing.result()
                writing = write_pool.submit(colour_and_write, good, visual, clip_vecs)
                for row, _ in good:
                    if row.item.id in present:
                        report.updated += 1
                    else:
                        report.added += 1
            bar.update(len(batch))
        if writing is not None:
            writing.result()
    bar.close()
    if prune:
        catalog_ids = {r.item.id for r in rows} | {r.id for r in report.rejected}
        report.removed = writer.remove([i for i in store.all_ids() if i not in catalog_ids])
    if not consistent:
        _finish_signature(store, products, rows, report)
    return report


def _finish_signature(store: CatalogStore, products: ProductEmbedder, rows: list[ProductRow],
                      report: BuildReport) -> None:
    """Record the signature once every indexed product holds this build's vectors (both collections)."""
    current = {r.item.id: r.fingerprint for r in rows}
    done = store.fingerprints()
    stale = [i for i in store.all_ids() if i not in current or done.get(i) != current[i]]
    report.stale = len(stale)
    if not stale:
        store.set_models({"signature": products.signature})
