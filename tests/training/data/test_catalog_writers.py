"""Catalog writers: every source writes a CSV that stylist.catalog reads back unchanged."""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.catalog import read_catalog
from stylist.schema import CLASSES
from training.data.catalog_writers import demo_price, write_source_catalog
from training.data.splits import split_of


def test_ctl_catalog_round_trip(tiny_root, tmp_path):
    path, n = write_source_catalog("ctl", tmp_path / "ctl.csv", tiny_root)
    items = {it.id: it for it in read_catalog(path)}
    assert len(items) == n == 13 * 3 * 2 + 1
    ring = items["rr_Rings_1"]
    assert ring.category == "Jewelry" and ring.style_id == "boardR" and ring.name == "Jewelry #1"
    assert ring.extra["ctl_label"] == "Rings" and Image.open(ring.image).size == (80, 100)


def test_ctl_catalog_split_filter(tiny_root, tmp_path):
    path, _ = write_source_catalog("ctl", tmp_path / "test.csv", tiny_root, split="test")
    items = read_catalog(path)
    assert items and all(split_of(it.id) == "test" for it in items)


def test_fpi_catalog_round_trip(tiny_root, tmp_path):
    path, n = write_source_catalog("fpi", tmp_path / "fpi.csv", tiny_root, limit=5)
    items = read_catalog(path)
    assert n == len(items) == 5
    it = items[0]
    assert it.name.startswith("Brand, Women Red Tshirt") and it.color == "Red" and it.category == "Tshirts"
    assert it.extra["gender"] == "Women" and it.extra["masterCategory"] == "Apparel" and it.extra["usage"] == "Casual"


def test_fashion_mnist_catalog_writes_white_background_pngs(tmp_path):
    path, n = write_source_catalog("fashion-mnist", tmp_path / "fm" / "catalog.csv", limit=20)
    items = read_catalog(path)
    assert n == len(items) == 20
    for it in items:
        assert it.id.startswith("fmnist-test-") and it.category in CLASSES
        assert it.name.startswith("Fashion-MNIST ") and 9.99 <= it.price <= 199.99
        arr = np.asarray(Image.open(it.image).convert("L"))
        assert arr.shape == (112, 112) and arr[0, 0] > 240 and arr.min() < 120  # dark item on white
    assert items[0].extra["fmnist_label"] == "Ankle boot" and items[0].category == "Shoes"
    # stable made-up prices: 9.99 + 5 × (first 4 bytes of sha1("price:<id>") mod 39), written out
    assert [(it.id, it.price) for it in items[:3]] == [("fmnist-test-0", 124.99), ("fmnist-test-1", 34.99),
                                                      ("fmnist-test-2", 49.99)]
    assert [demo_price(f"fmnist-test-{k}") for k in range(3)] == [124.99, 34.99, 49.99]
