"""The Chroma store: both collections, cosine space, batching, fingerprints, embedded and a real server."""
from __future__ import annotations


import numpy as np
import pytest

from stylist.config import load_config
from stylist.errors import IndexUnavailableError
from stylist.store import CLIP, VISUAL, CatalogStore

from tests.helpers.catalog import chroma_server


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _fill(store: CatalogStore, n: int = 10) -> tuple[list[str], np.ndarray, np.ndarray]:
    ids = [f"p{i}" for i in range(n)]
    vis, clip = _vectors(n, 16, 0), _vectors(n, 8, 1)
    metas = [{"name": f"n{i}", "category": "Shoes" if i % 2 else "Dresses", "color": "red" if i < 5 else "navy",
              "price": 10.0 * i if i != 3 else None, "image": f"/x/{i}.png", "fingerprint": f"fp{i}", "junk": 1}
             for i in range(n)]
    store.upsert(ids, vis, clip, metas)
    return ids, vis, clip


@pytest.fixture()
def store(tmp_path) -> CatalogStore:
    return CatalogStore.open(load_config(env={}, db_path=tmp_path / "db", collection="t-cat"))


def test_embedded_roundtrip_cosine_and_metadata(store):
    ids, vis, clip = _fill(store)
    assert store.count() == 10
    assert store.visual.configuration["hnsw"]["space"] == "cosine"
    assert store.clip.name == "t-cat-clip"
    hits = store.query(VISUAL, vis[4], 3)
    assert hits[0].id == "p4" and hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert set(hits[0].meta) <= {"name", "category", "color", "price", "url", "image", "fingerprint", "color_source",
                                 "color_confidence"}
    assert "price" not in store.query(VISUAL, vis[3], 1)[0].meta  # unknown price is absent, not None
    assert store.query(CLIP, clip[7], 1)[0].id == "p7"
    got = store.vectors(CLIP, ["p2", "p0"])
    assert np.allclose(got, clip[[2, 0]], atol=1e-3)  # stored as float16 (embedded store)
    assert (got * clip[[2, 0]]).sum(1).min() > 0.99999


def test_where_filters(store):
    _, vis, _ = _fill(store)
    hits = store.query(VISUAL, vis[0], 10, {"$and": [{"category": {"$in": ["Shoes"]}}, {"price": {"$lte": 50.0}}]})
    assert {h.id for h in hits} == {"p1", "p5"}


def test_batches_stay_within_the_client_limit(store, monkeypatch):
    calls = []
    original = store.visual.upsert
    monkeypatch.setattr(store, "max_batch", 3)
    monkeypatch.setattr(store.visual, "upsert", lambda **kw: (calls.append(len(kw["ids"])), original(**kw)))
    _fill(store, 10)
    assert calls == [3, 3, 3, 1] and store.count() == 10


def test_fingerprints_need_both_collections(store):
    _fill(store, 4)
    store.clip.delete(ids=["p2"])  # as if a build died between the two writes
    fps = store.fingerprints()
    assert set(fps) == {"p0", "p1", "p3"} and fps["p0"] == "fp0"
    assert store.count() == 3


def test_delete_and_models_info(store):
    _fill(store, 4)
    assert store.delete(["p1", "nope"]) == ["p1"]
    assert store.count() == 3
    store.set_models({"embedder": "ae512", "embedder_dim": "16"})
    assert store.models()["embedder"] == "ae512"
    assert store.size_on_disk() > 0


def test_unreachable_server_names_the_url():
    url = "http://127.0.0.1:9"
    with pytest.raises(IndexUnavailableError, match="127.0.0.1:9"):
        CatalogStore.open(load_config(env={"STYLIST_CHROMA_URL": url}))


def test_real_chroma_server(tmp_path):
    with chroma_server(tmp_path / "server-db") as url:
        store = CatalogStore.open(load_config(env={"STYLIST_CHROMA_URL": url}, collection="srv-cat"))
        ids, vis, _ = _fill(store, 6)
        assert store.location == url and store.size_on_disk() is None
        assert store.query(VISUAL, vis[5], 1)[0].id == "p5"
        assert store.fingerprints()["p5"] == "fp5"
        again = CatalogStore.open(load_config(env={"STYLIST_CHROMA_URL": url}, collection="srv-cat"))
        assert again.count() == 6


def test_clip_collection_keeps_slim_metadata(store):
    _fill(store, 3)
    meta = store.clip.get(ids=["p1"], include=["metadatas"])["metadatas"][0]
    assert set(meta) <= {"category", "color", "color_confidence", "price"} and meta["category"]
    assert store.metadatas(["p1", "zz"])["p1"]["image"] == "/x/1.png"


def test_where_filter_honours_exclusions(store):
    from stylist.query import parse_query
    from stylist.hits import where_filter

    _, vis, _ = _fill(store)
    where = where_filter(parse_query("no shoes, not crimson"), [], True)  # no shoes; no red family
    assert {h.id for h in store.query(VISUAL, vis[0], 10, where)} == {"p6", "p8"}  # navy dresses
