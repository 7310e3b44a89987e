"""The real ../shared/data: split disjointness, loader counts, and a few real boards (skips without the data)."""
from __future__ import annotations

import json

from stylist.schema import CLASSES
from training.data.boards import generate_boards
from training.data.crops import crop_dataset
from training.data.sources import load_ctl_crops, load_ctl_layouts, load_fpi
from training.data.splits import SPLITS, split_of


def test_real_splits_are_disjoint(shared_data):
    crops = load_ctl_crops(shared_data)
    assert len(crops) > 10_000 and {c.category for c in crops} == set(CLASSES)
    parts = {s: {pid for _, pid, _ in crop_dataset(shared_data, s)} for s in SPLITS}
    assert sum(map(len, parts.values())) == len(crops)
    assert not (parts["train"] & parts["val"] or parts["train"] & parts["test"] or parts["val"] & parts["test"])
    assert 0.07 < len(parts["test"]) / len(crops) < 0.13
    fpi_test = {it.id for it in load_fpi(shared_data) if split_of(it.id) == "test"}
    assert 3000 < len(fpi_test) < 4500


def test_real_layouts(shared_data):
    layouts = load_ctl_layouts(shared_data)
    assert len(layouts) > 4500 and sum(map(len, layouts.values())) > 24_000
    assert {b.category for boxes in layouts.values() for b in boxes} == set(CLASSES)


def test_a_few_real_boards(shared_data, tmp_path):
    generate_boards(shared_data, tmp_path, 8, imgsz=320, seed=7, workers=1, progress=False)
    crops = {c.id: c for c in load_ctl_crops(shared_data)}
    records = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 8 and sum(len(r["boxes"]) for r in records) >= 8
    for rec in records:
        W, H = rec["size"]
        for b in rec["boxes"]:
            x0, y0, x1, y1 = b["box"]
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            if not b["product_id"].startswith("fmnist-"):
                assert crops[b["product_id"]].category == b["category"]
                assert split_of(b["product_id"]) == rec["split"]
