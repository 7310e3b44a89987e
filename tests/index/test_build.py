"""Index build: upsert by fingerprint, resume after an interruption, skip unreadable images, prune, server."""
from __future__ import annotations

import csv

import pytest

from index.build import build_index
from tests.helpers.catalog import chroma_server, die_on_visual_upsert, make_catalog
from stylist.config import load_config
from stylist.search import Stylist
from stylist.models import shared_clip, shared_embedder
from stylist.store import CatalogStore


@pytest.fixture(scope="module")
def models():
    config = load_config(env={})
    return shared_embedder(config), shared_clip(config)


def _build(config, catalog, models, **kw):
    return build_index(config, catalog, *models, progress=False, **kw)


def test_build_then_rebuild_adds_only_what_changed(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="b-test")
    first = _build(config, catalog, models)
    assert (first.added, first.updated, first.unchanged) == (24, 0, 0)
    again = _build(config, catalog, models)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 24)
    rows = list(csv.reader(catalog.open()))
    rows[1][5] = "999"  # a price change
    (tmp_path / "cat" / "images" / f"{rows[2][0]}.png").write_bytes((tmp_path / "cat" / "images" / f"{rows[3][0]}.png").read_bytes())
    with catalog.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    third = _build(config, catalog, models)
    assert (third.added, third.updated, third.unchanged) == (0, 2, 22)
    store = CatalogStore.open(config)
    assert store.count() == 24
    assert store.query("visual", store.vectors("visual", [rows[1][0]])[0], 1)[0].meta["price"] == 999.0


def test_interrupted_build_resumes_without_duplicates_or_losses(tmp_path, models, monkeypatch):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="r-test")
    store = CatalogStore.open(config)
    die_on_visual_upsert(monkeypatch, store)  # the 2nd batch reaches the CLIP collection, then the build "dies"
    with pytest.raises(KeyboardInterrupt):
        build_index(config, catalog, *models, store=store, batch_size=10, progress=False)
    assert store.count() == 10 and store.clip.count() == 20  # half-written batch: not counted as done
    monkeypatch.undo()
    resumed = _build(config, catalog, models, batch_size=10)
    assert resumed.unchanged == 10 and resumed.updated == 10 and resumed.added == 4  # the half-written 10 are redone
    store = CatalogStore.open(config)
    assert store.visual.count() == store.clip.count() == store.count() == 24
    assert len(store.fingerprints()) == 24


def test_unreadable_images_are_reported_and_skipped(tmp_path, models):
    folder = tmp_path / "cat"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "junk.png").write_bytes(b"not an image")
    (folder / "images" / "empty.png").write_bytes(b"")
    catalog = make_catalog(folder, per_combo=1, extra_rows=[["junk", "images/junk.png", "j", "Shoes", "", ""],
                                                             ["empty", "images/empty.png", "e", "Shoes", "", ""],
                                                             ["gone", "images/missing.png", "g", "Shoes", "", ""]])
    config = load_config(env={}, db_path=tmp_path / "db", collection="s-test")
    report = _build(config, catalog, models)
    assert report.added == 24
    assert {pid for pid, _ in report.skipped} == {"junk", "empty", "gone"}
    assert all(reason for _, reason in report.skipped)
    assert "3 rejected" in report.summary()


def test_colour_from_pixels_when_the_catalog_has_none(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=2, with_color=False)
    config = load_config(env={}, db_path=tmp_path / "db", collection="c-test")
    _build(config, catalog, models)
    metas = CatalogStore.open(config).all_metadata()
    right = sum(m["color"] == pid.split("-")[1] for pid, m in metas.items())
    assert right >= 0.9 * len(metas)


def test_prune_removes_products_gone_from_the_catalog(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="p-test")
    _build(config, catalog, models)
    rows = list(csv.reader(catalog.open()))
    with catalog.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows[:-4])
    report = _build(config, catalog, models, prune=True)
    assert len(report.removed) == 4 and CatalogStore.open(config).count() == 20


def test_build_and_search_through_a_real_chroma_server(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    with chroma_server(tmp_path / "server") as url:
        config = load_config(env={"STYLIST_CHROMA_URL": url}, collection="srv")
        report = _build(config, catalog, models)
        assert report.added == 24 and report.location == url
        assert _build(config, catalog, models).unchanged == 24
        stylist = Stylist.from_config(config)
        res = stylist.search_text("blue shoes under 500", top_k=2)
        assert [p.category for p in res.products] == ["Shoes", "Shoes"]
        assert res.products[0].color == "blue"  # the only blue shoe first, then other shoes
