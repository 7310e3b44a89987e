"""Crop datasets keep product ids and classes, and product splits never share a product."""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.catalog import read_catalog
from training.data.crops import crop_dataset, write_crop_dataset
from training.data.sources import load_ctl_crops
from training.data.splits import SPLITS


def test_crop_splits_are_disjoint_and_complete(tiny_root):
    parts = {s: {pid for _, pid, _ in crop_dataset(tiny_root, s)} for s in SPLITS}
    assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"] and not parts["val"] & parts["test"]
    assert set().union(*parts.values()) == {c.id for c in load_ctl_crops(tiny_root)}


def test_write_crop_dataset(tiny_root, tmp_path):
    path, n = write_crop_dataset(tiny_root, tmp_path, "val", size=40)
    items = read_catalog(path)
    assert n == len(items) == len(crop_dataset(tiny_root, "val")) == 26  # tiny root: 2 crops per class in val
    expected = {pid: cat for _, pid, cat in crop_dataset(tiny_root, "val")}
    for it in items:
        assert expected[it.id] == it.category
        img = Image.open(it.image).convert("L")
        assert img.size in ((30, 40), (31, 40))  # the 61×81 ellipse without its white margin, fitted to 40
        assert np.asarray(img)[0].min() < 240  # ink touches the top edge: trimmed
