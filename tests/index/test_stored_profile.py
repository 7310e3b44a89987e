"""The catalog profile an index build stores: what a search reads instead of counting every product."""
from __future__ import annotations

import csv

import pytest

from index.build import build_index
from index.cli import remove
from stylist.catalog_profile import ProfileCache, profile_metadata, stored_profile
from stylist.config import load_config
from stylist.models import shared_clip, shared_embedder
from stylist.store import PROFILE_KEY, CatalogStore
from tests.helpers.catalog import make_catalog


@pytest.fixture(scope="module")
def models():
    config = load_config(env={})
    return shared_embedder(config), shared_clip(config)


def _scanned(store: CatalogStore):
    return profile_metadata(store.all_metadata().values())


def test_stored_profile_equals_the_scanned_one_and_follows_rebuilds_and_removals(tmp_path, models, monkeypatch):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="sp-test")
    build_index(config, catalog, *models, progress=False)
    store = CatalogStore.open(config)
    first = stored_profile(store, store.count())
    assert first is not None and first == _scanned(store) and first.products == 24 and first.priced == 24
    assert PROFILE_KEY not in store.models()  # model facts stay readable (`stylist index stats`)

    rows = list(csv.reader(catalog.open()))
    rows[1][5] = "999"  # a price change: same product count, other counts
    with catalog.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    build_index(config, catalog, *models, progress=False)
    store = CatalogStore.open(config)
    second = stored_profile(store, store.count())
    assert second == _scanned(store) and second != first and 999.0 in second.prices["*"]

    cache = ProfileCache(store)
    monkeypatch.setattr(store, "all_metadata", lambda: pytest.fail("the stored profile should have been read"))
    assert cache.get() == second
    monkeypatch.undo()

    monkeypatch.setenv("STYLIST_DB", str(tmp_path / "db"))
    monkeypatch.setenv("STYLIST_COLLECTION", "sp-test")
    assert remove([rows[2][0], rows[3][0]]) == 0  # `stylist index remove` recounts it
    store = CatalogStore.open(config)
    third = stored_profile(store, store.count())
    assert third == _scanned(store) and third.products == 22


def test_an_index_without_a_stored_profile_is_counted(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="old-test")
    build_index(config, catalog, *models, progress=False)
    store = CatalogStore.open(config)
    store.set_models({PROFILE_KEY: ""})  # as an index built before profiles were stored
    assert stored_profile(store, store.count()) is None
    assert ProfileCache(store).get() == _scanned(store)
    store.set_models({PROFILE_KEY: _scanned(store).to_json()})
    store.delete([next(iter(store.all_ids()))])  # removed behind the profile's back: its count no longer fits
    assert stored_profile(store, store.count()) is None
    assert ProfileCache(store).get() == _scanned(store) and ProfileCache(store).get().products == 23
