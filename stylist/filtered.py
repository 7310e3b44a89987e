"""Filtered nearest neighbours ("the nearest red dresses") in numpy instead of a Chroma ``where`` query.

Measured on the 10,864-product CTL index (2 busy cores): a top-100 query took 7 ms bare, 16 ms with its
metadata, but 36 ms with a category ``where`` and 66 ms with a colour-family ``where`` — Chroma resolves
the filter in sqlite and then searches HNSW under it. Here the visual vectors (22 MB for 11k products)
and the three filterable fields sit in memory once, a filter is a boolean mask and the search an exact
dot product over the products that pass (a few ms). The store stays the one source of truth: the copy is
reloaded when the collection's size or the index's model signature changes.
"""
from __future__ import annotations

import threading

import numpy as np

from stylist.hits import Hit
from stylist.metrics import l2_normalize
from stylist.store import VISUAL, CatalogStore

_OPS = {"$in": lambda col, v: np.isin(col, list(v)), "$lte": lambda col, v: col <= v, "$gte": lambda col, v: col >= v,
        "$eq": lambda col, v: col == v}


class FilteredIndex:
    """The visual collection's vectors and filter fields in memory, for exact filtered top-n queries."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self.ids: list[str] = []
        self.vectors = np.zeros((0, 0), np.float32)
        self.metas: list[dict] = []
        self.columns: dict[str, np.ndarray] = {}

    def _fresh(self) -> None:
        key = (self.store.collection_count(VISUAL), self.store.models().get("signature"))
        if key == self._key:
            return
        ids, vecs, metas = [], [], []
        for page in self.store.pages(VISUAL, ["embeddings", "metadatas"]):
            ids += page["ids"]
            vecs.append(np.asarray(page["embeddings"], dtype=np.float32))
            metas += [dict(m or {}) for m in page["metadatas"]]
        self.ids, self.metas = ids, metas
        self.vectors = np.concatenate(vecs) if vecs else np.zeros((0, 0), np.float32)
        self.vectors = l2_normalize(self.vectors)  # cosine space, as the collection's
        price = [m.get("price") for m in metas]
        self.columns = {
            "category": np.array([str(m.get("category", "")) for m in metas], dtype=object),
            "color": np.array([str(m.get("color", "")) for m in metas], dtype=object),
            "price": np.array([float(p) if isinstance(p, (int, float)) else np.nan for p in price]),
        }
        self._key = key

    def _mask(self, where: dict) -> np.ndarray:
        if "$and" in where:
            mask = np.ones(len(self.ids), bool)
            for clause in where["$and"]:
                mask &= self._mask(clause)
            return mask
        (field, cond), = where.items()
        col = self.columns[field]
        (op, value), = cond.items() if isinstance(cond, dict) else (("$eq", cond),)
        with np.errstate(invalid="ignore"):  # NaN prices never pass a price bound (Chroma: key absent)
            return _OPS[op](col, value)

    def query(self, vector: np.ndarray, n: int, where: dict) -> list[Hit]:
        """The ``n`` products nearest to ``vector`` among those that pass ``where`` (best first)."""
        with self._lock:
            self._fresh()
            if not self.ids:
                return []
            keep = np.flatnonzero(self._mask(where))
            if not len(keep):
                return []
            # einsum, not BLAS: OpenBLAS's thread pool keeps spinning after a product on a busy 2-core box and
            # slows the next photo's detection; einsum runs on the calling thread
            sims = np.einsum("ij,j->i", self.vectors[keep], np.asarray(vector, dtype=np.float32))
            top = np.argsort(-sims, kind="stable")[:n]
            return [Hit(self.ids[keep[i]], float(sims[i]), self.metas[keep[i]]) for i in top]


def supported(where: dict | None) -> bool:
    """Whether ``where`` only uses what ``FilteredIndex`` evaluates ($and of $in/$lte/$gte/$eq on its fields)."""
    if not where:
        return False
    if "$and" in where:
        return all(supported(c) for c in where["$and"])
    if len(where) != 1:
        return False
    (field, cond), = where.items()
    if field not in ("category", "color", "price"):
        return False
    return not isinstance(cond, dict) or (len(cond) == 1 and next(iter(cond)) in _OPS)


__all__ = ["FilteredIndex", "supported"]

