"""The writer: batched upserts to both collections and removals, on an embedded store."""
from __future__ import annotations

import numpy as np

from index.writer import IndexWriter
from stylist.config import load_config
from stylist.store import CatalogStore


def test_write_and_remove(tmp_path):
    writer = IndexWriter(CatalogStore.open(load_config(env={}, db_path=tmp_path / "db", collection="w-test")))
    assert writer.batch_size > 0 and writer.write([], np.zeros((0, 4)), np.zeros((0, 3)), []) == 0
    rng = np.random.default_rng(0)
    n = writer.write(["a", "b", "c"], rng.normal(size=(3, 4)), rng.normal(size=(3, 3)),
                     [{"name": k, "fingerprint": k} for k in "abc"])
    assert n == 3 and writer.store.count() == 3
    assert writer.remove(["b", "zz"]) == ["b"] and writer.store.count() == 2
    assert writer.remove([]) == []
