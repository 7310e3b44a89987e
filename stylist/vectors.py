"""Query-time vector caches for the search: CLIP text vectors by terms, candidates' CLIP image vectors by id.

Shoppers repeat words ("in black") and popular products come back as candidates again and again, so
both are worth keeping in memory. Thread-safe: the bot runs many searches at once.
"""
from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from stylist.hits import Hit
from stylist.protocols import ClipEncoder
from stylist.store import CLIP, CatalogStore

CLIP_CACHE_SIZE = 50_000  # candidate CLIP vectors kept in memory (~50 MB at 256-d)
TEXT_CACHE_SIZE = 2048


class VectorCache:
    """CLIP text vectors (computed by ``clip``) and stored CLIP image vectors (read from ``store``)."""

    def __init__(self, clip: ClipEncoder, store: CatalogStore, clip_cache_size: int = CLIP_CACHE_SIZE):
        self.clip = clip
        self.store = store
        self.clip_cache_size = clip_cache_size
        self._text: dict[str, np.ndarray] = {}
        self._vocabulary: dict[str, np.ndarray] = {}
        self._images: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def add_texts(self, vectors: dict[str, np.ndarray]) -> None:
        """Known text vectors (the refinement vocabulary, embedded at start-up): kept, never evicted."""
        with self._lock:
            self._vocabulary.update(vectors)

    def clear_text(self) -> None:
        """Forget every text vector (benchmarks time the text encoder this way)."""
        with self._lock:
            self._text.clear()

    def text(self, terms: str) -> np.ndarray:
        """The CLIP text vector of ``terms``."""
        with self._lock:
            vec = self._vocabulary.get(terms)
            if vec is None:
                vec = self._text.get(terms)
        if vec is None:
            vec = self.clip.embed_texts([terms])[0]
            with self._lock:
                if len(self._text) > TEXT_CACHE_SIZE:
                    self._text.clear()
                self._text[terms] = vec
        return vec

    def images(self, hits: Sequence[Hit]) -> np.ndarray:
        """Stored CLIP image vectors of the candidates, cached by (id, fingerprint) so a changed product
        is never served a stale vector; popular candidates then skip the round trip to Chroma."""
        keys = [(h.id, str(h.meta.get("fingerprint", ""))) for h in hits]
        with self._lock:
            found = {k: self._images[k] for k in keys if k in self._images}
        missing = [k for k in keys if k not in found]
        if missing:
            found.update(zip(missing, self.store.vectors(CLIP, [k[0] for k in missing])))
            with self._lock:
                if len(self._images) + len(missing) > self.clip_cache_size:
                    self._images.clear()
                self._images.update((k, found[k]) for k in missing)
        return np.stack([found[k] for k in keys])
