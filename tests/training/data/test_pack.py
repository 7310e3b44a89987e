"""The packed mini data root has the same layout: every loader and the board generator accept it."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from training.data.boards import generate_boards
from training.data.pack import PARTS, pack_data
from training.data.sources import load_clothing, load_ctl_crops, load_ctl_layouts, load_fashion_mnist, load_fpi


def test_pack_round_trips_through_the_loaders(tiny_root, tmp_path):
    bundle = tmp_path / "bundle"
    sizes = pack_data(tiny_root, bundle, PARTS, max_side=48)
    assert set(sizes) == set(PARTS) and all(mb > 0 for mb in sizes.values())

    crops = load_ctl_crops(bundle)
    assert sorted(c.id for c in crops) == sorted(c.id for c in load_ctl_crops(tiny_root))
    assert {c.id: c.category for c in crops}["rr_Rings_1"] == "Jewelry"
    assert all(max(Image.open(c.path).size) <= 48 for c in crops)
    assert load_ctl_layouts(bundle) == load_ctl_layouts(tiny_root)
    assert [i.id for i in load_fpi(bundle)] == [i.id for i in load_fpi(tiny_root)]
    assert len(load_clothing(bundle)) == len(load_clothing(tiny_root))
    images, labels = load_fashion_mnist("train", root=bundle)
    assert np.array_equal(images, load_fashion_mnist("train", root=tiny_root)[0])

    out = tmp_path / "boards"
    generate_boards(bundle, out, 9, imgsz=192, outfit_fraction=0.3, demo_fraction=0.3, workers=1, progress=False)
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 9 and sum(len(r["boxes"]) for r in records) > 9


def test_fpi_limit_keeps_a_subset_with_matching_rows(tiny_root, tmp_path):
    pack_data(tiny_root, tmp_path, ("fpi",), fpi_limit=5)
    items = load_fpi(tmp_path)
    assert len(items) == 5 and len(list((tmp_path / "fpi" / "images").iterdir())) == 5
    assert all(max(Image.open(i.path).size) <= 64 for i in items)
