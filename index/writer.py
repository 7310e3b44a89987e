"""Stage 3 of the index build: write embedded products to the store (CLIP vectors, then the visual collection)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from stylist.store import CatalogStore


class IndexWriter:
    """Batched upserts and removals on one CatalogStore; a batch is written to both sides at once."""

    def __init__(self, store: CatalogStore):
        self.store = store

    @property
    def batch_size(self) -> int:
        return self.store.max_batch

    def write(self, ids: Sequence[str], visual: np.ndarray, clip: np.ndarray, metas: Sequence[dict]) -> int:
        if not ids:
            return 0
        self.store.upsert(list(ids), visual, clip, list(metas))
        return len(ids)

    def remove(self, ids: Sequence[str]) -> list[str]:
        return self.store.delete(list(ids)) if ids else []
