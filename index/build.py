"""The index build runner: reader -> embedder -> writer, resumable and incremental (upsert by fingerprint).

A product is done only when both sides (visual collection, CLIP vectors) hold it with its current
fingerprint, so re-running after an interruption (even ``kill -9``) redoes at most the batch that was in
flight, and re-running on an unchanged catalog embeds nothing. Bad rows (CSV problems, unreadable or non-image files) are rejected per
row and reported, never fatal. One builder per embedded index (index.lock).

The models' signature is recorded as final only once every product in the index carries vectors of the
current models; until then it reads "<signature> (unfinished build)", which searches refuse, so an index
half re-embedded after a model change is never searched as if it were consistent.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.embedder import ProductEmbedder, product_metadata
from index.lock import index_write_lock
from index.profile import StageProfile
from index.reader import ProductRow, decode_row, read_catalog_products
from index.upkeep import compact
from index.writer import IndexWriter
from stylist.catalog import Reject
from stylist.catalog_profile import store_profile
from stylist.config import Config
from stylist.models.runtime import cpu_threads
from stylist.protocols import ClipEncoder, CropEmbedder
from stylist.store import PROFILE_KEY, UNFINISHED, CatalogStore


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
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)  # stage -> (CPU s, wall s), all threads

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
CHUNK = 32  # products per worker task: the encoders' CPU per product was lowest at 32 (vs 128) in one-thread sessions


def _reject(row: ProductRow, reason: str) -> Reject:
    return Reject(row.item.line, row.item.id, reason, row.item.image)


def build_index(config: Config, catalog: str | Path, embedder: CropEmbedder, clip: ClipEncoder, *,
                store: CatalogStore | None = None, batch_size: int = 256, prune: bool = False,
                progress: bool = True) -> BuildReport:
    """Index (or update) every product of ``catalog`` into the store named by ``config``."""
    start = time.perf_counter()
    folder = store.path if store is not None else (None if config.chroma_url else config.db_dir)
    with index_write_lock(folder):
        store = store or CatalogStore.open(config)
        report = _build(store, catalog, ProductEmbedder(embedder, clip), config.max_pixels, batch_size, prune, progress,
                        workers=cpu_threads(config))
        compact(store)  # free pages of the sqlite file and segment folders of no collection go back to the disk
    report.seconds = time.perf_counter() - start
    return report


def _build(store: CatalogStore, catalog: str | Path, products: ProductEmbedder, max_pixels: int, batch_size: int,
           prune: bool, progress: bool, workers: int = 2) -> BuildReport:
    writer = IndexWriter(store)
    report = BuildReport(location=store.location)
    profile = StageProfile()
    t = time.perf_counter()
    rows, report.rejected = read_catalog_products(catalog, products.signature)
    report.total = len(rows) + len(report.rejected)
    report.rejected += [_reject(r, r.error) for r in rows if r.error]
    rows = [r for r in rows if not r.error]
    store.migrate_legacy()  # an index of the earlier layout: its CLIP vectors move into the vector file
    existing = store.fingerprints()
    present = store.all_ids()  # includes products an interrupted build wrote to one side only
    todo = [r for r in rows if existing.get(r.item.id) != r.fingerprint]
    report.unchanged = len(rows) - len(todo)
    profile.add("read catalog + fingerprints", time.perf_counter() - t, time.perf_counter() - t)
    signature = products.signature
    consistent = store.models().get("signature") == signature
    store.set_models({**products.models_info(), "signature": signature if consistent else signature + UNFINISHED,
                      PROFILE_KEY: ""})  # the stored catalog profile is recounted once everything is written
    batch_size = max(1, min(batch_size, writer.batch_size))
    if todo:
        t, cpu = time.perf_counter(), time.thread_time()
        products.ready()  # one-thread sessions (and a lazily loaded CLIP's preprocessing) before the workers start
        profile.add("load encoders", time.thread_time() - cpu, time.perf_counter() - t)
    bar = tqdm(total=len(todo), desc="indexing", unit="item", disable=not progress or not todo)

    def write(batch: list[Prepared]) -> None:
        """The chunks' products, ``batch_size`` per write (each write: CLIP side, then visual)."""
        t, cpu = time.perf_counter(), time.thread_time()
        ids = [i for p in batch for i in p.ids]
        visual, clip_vecs = np.concatenate([p.visual for p in batch]), np.concatenate([p.clip for p in batch])
        metas = [m for p in batch for m in p.metas]
        for s in range(0, len(ids), batch_size):
            writer.write(ids[s:s + batch_size], visual[s:s + batch_size], clip_vecs[s:s + batch_size],
                         metas[s:s + batch_size])
        profile.add("write (Chroma + CLIP file)", time.thread_time() - cpu, time.perf_counter() - t)

    # Chunks of CHUNK products are decoded, embedded (one-thread sessions) and coloured in WORKERS threads at
    # once — PIL, ONNX Runtime, OpenCV and numpy release the GIL, so every core works — and written in order,
    # ``batch_size`` at a time, by one writer thread while the next chunks are prepared (one write in flight).
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    with ThreadPoolExecutor(workers) as pool, ThreadPoolExecutor(1) as write_pool:
        pending: deque = deque()
        buffer: list[Prepared] = []
        writing = None
        for k in range(len(chunks) + 1):
            if k < len(chunks):
                pending.append(pool.submit(_prepare, chunks[k], products, max_pixels, profile))
                if len(pending) <= workers:  # keep every worker busy plus one chunk queued
                    continue
            while pending and (k == len(chunks) or len(pending) > workers):
                done = pending.popleft().result()
                report.rejected += done.rejected
                if done.ids:
                    buffer.append(done)
                for i in done.ids:
                    if i in present:
                        report.updated += 1
                    else:
                        report.added += 1
                bar.update(len(done.ids) + len(done.rejected))
                if buffer and (sum(len(p.ids) for p in buffer) >= batch_size or (k == len(chunks) and not pending)):
                    if writing is not None:
                        writing.result()
                    writing = write_pool.submit(write, buffer)
                    buffer = []
        if writing is not None:
            writing.result()
    bar.close()
    report.stages = profile.table()
    if prune:
        catalog_ids = {r.item.id for r in rows} | {r.id for r in report.rejected}
        report.removed = writer.remove([i for i in store.all_ids() if i not in catalog_ids])
    if not consistent:
        _finish_signature(store, products, rows, report)
    store_profile(store)
    return report


@dataclass
class Prepared:
    """A chunk of products ready to write: ids, both vectors and metadata, and its rejected rows."""

    ids: list[str]
    visual: np.ndarray
    clip: np.ndarray
    metas: list[dict]
    rejected: list[Reject]


def _prepare(rows: list[ProductRow], products: ProductEmbedder, max_pixels: int, profile: "StageProfile") -> Prepared:
    """Decode, embed (both encoders), colour and describe one chunk, in a worker thread."""
    clock = profile.clock()
    decoded = [decode_row(r, max_pixels, DECODE_MIN_SIDE) for r in rows]
    clock("decode")
    good = [(row, img) for row, img, _ in decoded if img is not None]
    rejected = [_reject(row, err) for row, img, err in decoded if img is None]
    if not good:
        return Prepared([], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), [], rejected)
    images = [img for _, img in good]
    visual, clip_vecs = products.embed(images)
    clock("embed: autoencoder + CLIP image tower")
    colors = products.colors([row.item for row, _ in good], images, clip_vecs)
    clock("colour (pixels + CLIP)")
    metas = [product_metadata(row.item, img, row.fingerprint, c) for (row, img), c in zip(good, colors)]
    return Prepared([row.item.id for row, _ in good], visual, clip_vecs, metas, rejected)


def _finish_signature(store: CatalogStore, products: ProductEmbedder, rows: list[ProductRow],
                      report: BuildReport) -> None:
    """Record the signature once every indexed product holds this build's vectors (both sides)."""
    current = {r.item.id: r.fingerprint for r in rows}
    done = store.fingerprints()
    stale = [i for i in store.all_ids() if i not in current or done.get(i) != current[i]]
    report.stale = len(stale)
    if not stale:
        store.set_models({"signature": products.signature})
