"""Catalog CSV: required columns, relative image paths, prices, extras kept, clear errors."""
from __future__ import annotations

import pytest

from stylist.catalog import CatalogItem, read_catalog, write_catalog
from stylist.errors import CatalogError


def test_round_trip_keeps_everything(tmp_path):
    (tmp_path / "img").mkdir()
    items = [
        CatalogItem(id="a1", image=str(tmp_path / "img" / "a1.jpg"), name="Red dress", category="Dresses",
                    color="red", price=49.5, url="https://shop.example/a1", style_id="s1", extra={"brand": "Acme"}),
        CatalogItem(id="b2", image=str(tmp_path / "img" / "b2.jpg")),
    ]
    path = write_catalog(items, tmp_path / "catalog.csv")
    assert "img/a1.jpg" in path.read_text()  # stored relative to the CSV
    back = read_catalog(path)
    assert back[0] == CatalogItem(**{**items[0].__dict__, "image": str((tmp_path / "img" / "a1.jpg").resolve())})
    assert back[1].price is None and back[1].extra == {"brand": ""}


def test_price_with_currency_and_thousands(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,image,price\nx,x.jpg,\"$1,299.00\"\n")
    assert read_catalog(p)[0].price == 1299.0


@pytest.mark.parametrize("text, message", [
    ("id,name\nx,y\n", "missing required column"),
    ("id,image\n,a.jpg\n", "empty id"),
    ("id,image\nx,a.jpg\nx,b.jpg\n", "duplicate id 'x'"),
    ("id,image\nx,\n", "empty image path"),
    ("id,image,price\nx,a.jpg,cheap\n", "price 'cheap'"),
])
def test_schema_errors_are_clear(tmp_path, text, message):
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(CatalogError, match=message):
        read_catalog(p)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        read_catalog(tmp_path / "none.csv")
