"""Disk upkeep of an embedded index after a build: give back the space Chroma no longer uses.

Build-time maintenance, not search: it runs under the build lock (index.lock) and only on the embedded
store (a Chroma server's disk is not ours to touch).
"""
from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3

from stylist.store import CatalogStore

SEGMENT_FOLDER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # an HNSW segment
VACUUM_FREE_SHARE = 0.02  # the sqlite file is rewritten when at least this share of its pages is free


def compact(store: CatalogStore) -> int:
    """Give disk space the embedded store no longer uses back: ``VACUUM`` of its sqlite file (deleted rows
    and Chroma's purged write-ahead log leave free pages behind; what ``chroma utils vacuum`` runs), the
    folders of HNSW segments that belong to no collection (Chroma 1.x leaves a deleted collection's segment
    folder on disk), and half-written vector files of a killed build. Returns the bytes freed; 0 for a
    server. Call under the build lock."""
    if store.path is None or not (store.path / "chroma.sqlite3").exists():
        return 0
    db = store.path / "chroma.sqlite3"
    before = store.size_on_disk() or 0
    try:
        with contextlib.closing(sqlite3.connect(str(db), timeout=5)) as conn:
            live = {row[0] for row in conn.execute("SELECT id FROM segments")}
            free, pages = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
            if free >= max(16, VACUUM_FREE_SHARE * pages):
                conn.execute("VACUUM")
    except sqlite3.Error:  # busy (another reader mid-transaction) or an unknown schema: try next build
        return 0
    for folder in store.path.iterdir():
        if (folder.is_dir() and SEGMENT_FOLDER.fullmatch(folder.name) and folder.name not in live
                and (folder / "header.bin").exists()):
            shutil.rmtree(folder, ignore_errors=True)
        elif folder.name.startswith(".") and folder.name.endswith(".tmp") and ".npz." in folder.name:
            folder.unlink(missing_ok=True)  # a vector file write killed half-way (we hold the build lock)
    return before - (store.size_on_disk() or 0)
