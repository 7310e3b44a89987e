"""Boards: tight boxes inside the board, labelled with the crop's class, one split per board, YOLO-readable."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylist.schema import CLASSES
from training.data.boards import generate_boards
from training.data.sources import load_ctl_crops, load_ctl_layouts
from training.data.splits import split_of

N = 36


@pytest.fixture(scope="module")
def dataset(tiny_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("boards")
    generate_boards(tiny_root, out, N, imgsz=256, seed=3, outfit_fraction=0.3, demo_fraction=0.2, workers=1,
                    progress=False)
    return out


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_every_box_inside_its_board_with_its_crops_class(dataset, tiny_root):
    crops = {c.id: c for c in load_ctl_crops(tiny_root)}
    records = _records(dataset)
    assert len(records) == N and {r["style"] for r in records} == {"board", "outfit", "demo"}
    for rec in records:
        W, H = rec["size"]
        with Image.open(dataset / rec["file"]) as img:
            assert img.size == (W, H) and max(W, H) == 256
        assert rec["boxes"], rec["file"]
        for b in rec["boxes"]:
            x0, y0, x1, y1 = b["box"]
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            assert b["category"] in CLASSES
            if rec["style"] != "demo":
                assert crops[b["product_id"]].category == b["category"]


def test_boards_use_only_their_splits_products_and_layouts(dataset, tiny_root):
    layouts = load_ctl_layouts(tiny_root)
    for rec in _records(dataset):
        assert Path(rec["file"]).parts[1] == rec["split"]
        if rec["style"] == "board":
            assert rec["layout"] in layouts and split_of(rec["layout"]) == rec["split"]
        for b in rec["boxes"]:
            pid = b["product_id"]
            if rec["style"] == "demo" and rec["split"] == "test":
                assert pid.startswith("fmnist-test-")
            else:
                assert split_of(pid) == rec["split"] and not pid.startswith("fmnist-test-")


def test_boxes_are_tight_around_the_pasted_item(dataset):
    """On white boards the box edges touch ink: the label is the trimmed crop, not the layout cell."""
    demo = [rec for rec in _records(dataset) if rec["style"] == "demo"]
    assert demo and all(rec["boxes"] for rec in demo)
    for rec in demo:
        arr = np.asarray(Image.open(dataset / rec["file"]).convert("L"), dtype=np.int16)
        for b in rec["boxes"]:
            x0, y0, x1, y1 = b["box"]
            inside = arr[y0:y1, x0:x1]
            assert inside.min() < 200
            dark_rows = np.flatnonzero((inside < 200).any(axis=1))
            assert dark_rows[0] <= 3 and dark_rows[-1] >= inside.shape[0] - 4


def test_yolo_labels_match_manifest(dataset):
    for rec in _records(dataset):
        W, H = rec["size"]
        label = dataset / rec["file"].replace("images", "labels", 1).replace(".jpg", ".txt")
        rows = [line.split() for line in label.read_text().splitlines()]
        assert len(rows) == len(rec["boxes"])
        for row, b in zip(rows, rec["boxes"]):
            x0, y0, x1, y1 = b["box"]
            assert CLASSES[int(row[0])] == b["category"]
            assert np.allclose([float(v) for v in row[1:]], [(x0 + x1) / 2 / W, (y0 + y1) / 2 / H,
                                                               (x1 - x0) / W, (y1 - y0) / H], atol=1e-5)


def test_same_boards_for_any_worker_count(dataset, tiny_root, tmp_path):
    generate_boards(tiny_root, tmp_path, N, imgsz=256, seed=3, outfit_fraction=0.3, demo_fraction=0.2, workers=2,
                    progress=False)
    assert (tmp_path / "manifest.jsonl").read_text() == (dataset / "manifest.jsonl").read_text()
    first = _records(dataset)[0]["file"]
    assert (tmp_path / first).read_bytes() == (dataset / first).read_bytes()


def test_ultralytics_reads_the_dataset(dataset):
    import stylist  # noqa: F401  (offline-safe ultralytics settings)
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    data = check_det_dataset(str(dataset / "data.yaml"))
    assert data["nc"] == len(CLASSES) and list(data["names"].values()) == list(CLASSES)
    manifest = _records(dataset)
    for split in ("train", "val"):
        ds = YOLODataset(img_path=data[split], data=data, task="detect", imgsz=256, augment=False)
        expected = sum(len(r["boxes"]) for r in manifest if r["split"] == split)
        assert len(ds) == sum(r["split"] == split for r in manifest)
        assert sum(len(lbl["cls"]) for lbl in ds.labels) == expected
