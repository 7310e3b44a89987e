"""Loaders on a tiny made-up data root: fields, label mapping, header quirks, clear errors when data is missing."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.errors import DataMissingError
from stylist.schema import CLASSES
from training.data import sources
from training.data.sources import (
    FASHION_MNIST_CLASSES, FASHION_MNIST_TO_CLASS, fashion_mnist_class, load_clothing, load_ctl_crops,
    load_ctl_layouts, load_fashion_mnist, load_fpi, resolve_data_root,
)


def test_ctl_crops_map_rare_labels(tiny_root):
    crops = {c.id: c for c in load_ctl_crops(tiny_root)}
    assert crops["rr_Rings_1"].category == "Jewelry" and crops["rr_Rings_1"].raw_category == "Rings"
    assert "bb_Belts_1" not in crops  # dropped label
    assert {c.category for c in crops.values()} == set(CLASSES)
    assert all(c.path.is_file() and c.board for c in crops.values())


def test_layouts_parse_tab_rows_with_space_header(tiny_root):
    layouts = load_ctl_layouts(tiny_root)
    assert len(layouts) == 6 and "sigdrop" not in layouts and "image_signature" not in str(layouts)
    for boxes in layouts.values():
        assert len(boxes) == 3
        for b in boxes:
            assert b.category in CLASSES and 0 <= b.x < 1 and 0 < b.w <= 1


def test_fpi_fields_and_missing_images(tiny_root):
    items = load_fpi(tiny_root)
    assert len(items) == 12  # the row without an image is skipped
    first = items[0]
    assert first.title.startswith("Brand, Women Red") and first.color == "Red" and first.article_type == "Tshirts"
    assert first.gender == "Women" and first.master_category == "Apparel" and first.path.is_file()


def test_clothing_photos(tiny_root):
    photos = load_clothing(tiny_root)
    assert len(photos) == 6 and all(p.path.is_file() and p.label == "T-Shirt" for p in photos)


def test_fashion_mnist_test_split_is_embedded():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))


def test_fashion_mnist_train_from_bundle(tiny_root):
    images, labels = load_fashion_mnist("train", root=tiny_root)
    assert images.shape == (60, 28, 28) and len(labels) == 60


def test_fashion_mnist_mapping_covers_every_class():
    assert set(FASHION_MNIST_TO_CLASS) == set(FASHION_MNIST_CLASSES)
    assert fashion_mnist_class(3) == "Dresses" and fashion_mnist_class(9) == "Shoes" and fashion_mnist_class(8) == "Handbags"
    assert all(v in CLASSES for v in FASHION_MNIST_TO_CLASS.values())


def test_fashion_mnist_missing_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "DEMO_DIR", tmp_path / "none")
    monkeypatch.setattr(sources, "APT_FASHION_MNIST", tmp_path / "none")
    monkeypatch.setenv("STYLIST_DATA", str(tmp_path))
    with pytest.raises(DataMissingError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test")
    with pytest.raises(DataMissingError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)


def test_missing_root_and_source_name_the_public_sources(tmp_path):
    with pytest.raises(DataMissingError, match="does not exist"):
        resolve_data_root(tmp_path / "nowhere")
    with pytest.raises(DataMissingError, match="eyereece/fashion-recommender-cv"):
        load_ctl_crops(tmp_path)
    with pytest.raises(DataMissingError, match="Fashion Product Images"):
        load_fpi(tmp_path)
    with pytest.raises(DataMissingError, match="clothing"):
        load_clothing(tmp_path)


def test_root_comes_from_config(tiny_root, monkeypatch):
    monkeypatch.setenv("STYLIST_DATA", str(tiny_root))
    assert resolve_data_root() == tiny_root
