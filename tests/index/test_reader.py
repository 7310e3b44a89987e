"""Catalog reading and fingerprints: a fingerprint changes exactly when the stored data would."""
from __future__ import annotations

from index.reader import decode_batches, fingerprint, read_products
from tests.helpers.catalog import make_catalog
from stylist.catalog import CatalogItem


def test_fingerprint_tracks_bytes_metadata_and_models():
    item = CatalogItem(id="a", image="/x.png", name="n", price=10.0)
    base = fingerprint(item, b"abc", "m1")
    assert base == fingerprint(item, b"abc", "m1")
    assert base != fingerprint(item, b"abd", "m1")
    assert base != fingerprint(CatalogItem(id="a", image="/x.png", name="n", price=11.0), b"abc", "m1")
    assert base != fingerprint(item, b"abc", "m2")


def test_read_products_and_decode(tmp_path):
    catalog = make_catalog(tmp_path, per_combo=1, extra_rows=[["gone", "images/nope.png", "", "", "", ""]])
    rows = read_products(catalog, "sig")
    assert len(rows) == 25
    bad = [r for r in rows if r.error]
    assert [r.item.id for r in bad] == ["gone"] and "nope.png" in bad[0].error
    good = [r for r in rows if not r.error]
    batches = list(decode_batches(good, 7, 10_000_000))
    assert [len(b) for b in batches] == [7, 7, 7, 3]
    assert all(img is not None and img.mode == "RGB" for b in batches for _, img, _ in b)
