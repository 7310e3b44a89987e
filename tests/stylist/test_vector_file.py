"""The CLIP vector file: Chroma's answers (filters, order, missing keys), atomic writes, the earlier layout."""
from __future__ import annotations

import numpy as np
import pytest

from index.upkeep import compact
from stylist.config import load_config
from stylist.errors import IndexUnavailableError
from stylist.store import CLIP, VISUAL, CatalogStore
from stylist.vector_file import VectorFile

WHERES = [
    {"category": {"$in": ["Shoes", "Bags"]}},
    {"color": {"$nin": ["red", "pink"]}},  # a missing colour passes $nin (as in Chroma)
    {"color": {"$ne": "red"}},
    {"color": "navy"},
    {"price": {"$lte": 40.0}},  # a missing price fails a bound
    {"$and": [{"category": {"$nin": ["Shoes"]}}, {"price": {"$gte": 20.0}}]},
    {"$or": [{"color": {"$in": ["red"]}}, {"price": {"$lt": 15.0}}]},
]


def _data(n: int = 60, dim: int = 12, seed: int = 3):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = []
    for i in range(n):
        m = {"category": ["Shoes", "Bags", "Dresses"][i % 3]}
        if i % 4:
            m["color"] = ["red", "navy", "pink", "black"][i % 5 % 4]
        if i % 5:
            m["price"] = float(5 * (i % 11))
        metas.append(m)
    return [f"id{i}" for i in range(n)], vecs, metas


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same rows in a real Chroma collection and in a vector file."""
    import chromadb

    folder = tmp_path_factory.mktemp("vf")
    ids, vecs, metas = _data()
    client = chromadb.PersistentClient(path=str(folder / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False))
    col = client.get_or_create_collection("ref-clip", configuration={"hnsw": {"space": "cosine", "ef_search": 200}},
                                          embedding_function=None)
    col.upsert(ids=ids, embeddings=vecs, metadatas=metas)
    vf = VectorFile(folder / "ref-clip.npz", "ref-clip")
    vf.upsert(ids=ids[:30], embeddings=vecs[:30], metadatas=metas[:30])  # two writes: append, then more
    vf.upsert(ids=ids[30:], embeddings=vecs[30:], metadatas=metas[30:])
    return col, vf, vecs


@pytest.mark.parametrize("where", WHERES)
def test_filters_select_what_chroma_selects(pair, where):
    col, vf, _ = pair
    assert sorted(vf.get(where=where, include=[])["ids"]) == sorted(col.get(where=where, include=[])["ids"])


def test_nearest_neighbours_match_chroma(pair):
    col, vf, vecs = pair
    for k in (0, 7, 33):
        q = vecs[k] + 0.3 * vecs[(k + 1) % len(vecs)]
        for where in (None, WHERES[0], WHERES[5]):
            ref = col.query(query_embeddings=q[None], n_results=8, where=where, include=["distances", "metadatas"])
            got = vf.query(q[None], 8, where)
            assert got["ids"] == ref["ids"]  # exact search: the same order as HNSW at this size
            assert np.allclose(got["distances"], ref["distances"], atol=2e-3)  # float16 storage
            assert got["metadatas"] == ref["metadatas"]


def test_get_by_id_keeps_order_and_skips_unknown(pair):
    _, vf, vecs = pair
    got = vf.get(ids=["id5", "nope", "id2"], include=["embeddings", "metadatas"])
    assert got["ids"] == ["id5", "id2"]
    assert (got["embeddings"] * vecs[[5, 2]]).sum(1).min() > 0.9999
    assert np.allclose(np.linalg.norm(got["embeddings"], axis=1), 1.0, atol=1e-6)


def test_another_instance_sees_writes_and_deletes(tmp_path):
    ids, vecs, metas = _data(10)
    a, b = VectorFile(tmp_path / "x.npz", "x"), VectorFile(tmp_path / "x.npz", "x")
    a.upsert(ids=ids, embeddings=vecs, metadatas=metas)
    assert b.count() == 10
    b.upsert(ids=["id3"], embeddings=vecs[[4]], metadatas=[{"category": "Hats"}])  # replace in place
    b.delete(ids=["id0", "nope"])
    assert a.count() == 9 and a.get(ids=["id3"])["metadatas"] == [{"category": "Hats"}]
    assert a.query(vecs[4][None], 2)["ids"][0][0] in {"id3", "id4"}


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    ids, vecs, metas = _data(6)
    vf = VectorFile(tmp_path / "x.npz", "x")
    vf.upsert(ids=ids, embeddings=vecs, metadatas=metas)
    before = (tmp_path / "x.npz").read_bytes()

    def dying(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dying)
    with pytest.raises(KeyboardInterrupt):
        vf.upsert(ids=["new"], embeddings=vecs[:1], metadatas=[None])
    monkeypatch.undo()
    assert (tmp_path / "x.npz").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]
    assert VectorFile(tmp_path / "x.npz", "x").count() == 6


def test_an_index_of_the_earlier_layout_is_named_then_converted(tmp_path):
    ids, vecs, metas = _data(20)
    config = load_config(env={}, db_path=tmp_path / "db", collection="old")
    store = CatalogStore.open(config)
    legacy = store.client.get_or_create_collection("old-clip", configuration={"hnsw": {"space": "cosine"}},
                                                   embedding_function=None)
    legacy.upsert(ids=ids, embeddings=vecs, metadatas=metas)
    visual = np.random.default_rng(0).normal(size=(20, 16)).astype(np.float32)
    store.visual.upsert(ids=ids, embeddings=visual, metadatas=[{**m, "fingerprint": "f"} for m in metas])
    store.set_models({"embedder": "e", "embedder_dim": "16", "signature": "s"})
    old = CatalogStore.open(config)
    with pytest.raises(IndexUnavailableError, match="earlier layout"):
        old.check_usable("e", 16, "s")
    segments = {p.name for p in (tmp_path / "db").iterdir() if p.is_dir()}
    (tmp_path / "db" / ".old-clip.npz.99999.tmp").write_bytes(b"x" * 100)  # a write killed half-way
    assert old.migrate_legacy() == 20 and compact(old) > 0
    assert not (tmp_path / "db" / ".old-clip.npz.99999.tmp").exists()
    assert len({p.name for p in (tmp_path / "db").iterdir() if p.is_dir()}) == len(segments) - 1  # its HNSW folder
    new = CatalogStore.open(config)
    new.check_usable("e", 16, "s")
    assert new.legacy_clip is None and new.count() == 20 and len(new.fingerprints()) == 20
    assert (new.vectors(CLIP, ids) * vecs).sum(1).min() > 0.9999
    assert new.query(CLIP, vecs[7], 1)[0].id == "id7" and new.query(VISUAL, visual[3], 1)[0].id == "id3"
