"""The demo-catalog builder on a made-up clothing root, and the committed data/demo-clothing it produced."""
from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylist.catalog import read_catalog
from stylist.cli import main
from stylist.schema import CLASSES, CLOTHING_CLASS_MAP
from training.data.demo_catalog import (
    BUDGET_MB, DEMO_CLOTHING_DIR, GARMENTS, MAX_SIDE, PRICE_NOTE, balanced_order, demo_price, folder_megabytes,
    select_photos,
)
from training.data.sources import ClothingPhoto, load_clothing
from training.data.splits import split_of

# (garment type, colour painted on the garment); the background is a mid-grey floor.
GARMENT_COLOURS = [("T-Shirt", (210, 30, 35)), ("Pants", (25, 50, 190)), ("Shoes", (20, 20, 20)),
                   ("Dress", (40, 150, 50)), ("Hat", (210, 30, 35)), ("Skirt", (25, 50, 190))]
EXPECTED_FAMILY = {(210, 30, 35): "red", (25, 50, 190): "blue", (20, 20, 20): "black", (40, 150, 50): "green"}


def ids_in_split(prefix: str, split: str, n: int) -> list[str]:
    """The first ``n`` ids ``<prefix><k>`` whose hash falls in ``split``."""
    ids = (f"{prefix}{k}" for k in itertools.count())
    return list(itertools.islice((i for i in ids if split_of(i) == split), n))


def _photo(rgb: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """A 300×400 'photo': a noisy grey-brown floor with a garment-coloured block in the middle."""
    arr = np.clip(rng.normal((150, 135, 120), 8, (400, 300, 3)), 0, 255).astype(np.uint8)
    arr[90:310, 70:230] = np.clip(np.array(rgb) + rng.integers(-12, 12, (220, 160, 3)), 0, 255)
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def clothing_root(tmp_path_factory) -> Path:
    """clothing/ with 6 garment types × (4 train + 2 test photos), plus 3 kids' photos that must be left out."""
    root = tmp_path_factory.mktemp("clothing-root")
    folder = root / "clothing" / "images"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with (root / "clothing" / "images.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "label", "kids"])
        for label, rgb in GARMENT_COLOURS:
            for pid in ids_in_split(f"{label}-", "train", 4) + ids_in_split(f"{label}-", "test", 2):
                _photo(rgb, rng).save(folder / f"{pid}.jpg")
                w.writerow([pid, label, "False"])
        for pid in ids_in_split("kid-", "test", 3):
            _photo((210, 30, 35), rng).save(folder / f"{pid}.jpg")
            w.writerow([pid, "Dress", "True"])
    return root


def test_selection_is_balanced_adult_and_keeps_queries_out(clothing_root):
    photos = load_clothing(clothing_root)
    catalog, queries = select_photos(photos, n_catalog=12, n_queries=6)
    assert not any(p.kids for p in catalog + queries)
    assert {p.path.stem for p in catalog}.isdisjoint(p.path.stem for p in queries)
    assert all(split_of(p.path.stem) == "test" for p in queries)
    assert Counter(CLOTHING_CLASS_MAP[p.label] for p in catalog) == Counter({CLOTHING_CLASS_MAP[g]: 2
                                                                              for g, _ in GARMENT_COLOURS})
    assert select_photos(photos[::-1], 12, 6) == (catalog, queries)  # order of the CSV does not matter


def test_balanced_order_spreads_garment_types_within_a_category():
    photos = [ClothingPhoto(Path(f"{label}{k}.jpg"), label) for label in ("T-Shirt", "Shirt", "Hoodie")
              for k in range(10)] + [ClothingPhoto(Path(f"p{k}.jpg"), "Pants") for k in range(10)]
    first = balanced_order(photos)[:12]
    assert Counter(p.label for p in first) == {"Pants": 6, "T-Shirt": 2, "Shirt": 2, "Hoodie": 2}


def test_invented_prices_are_stable_and_in_range():
    for garment, (_, lo, hi) in GARMENTS.items():
        prices = [demo_price(f"id{k}", garment) for k in range(50)]
        assert all(lo < p < hi + 1 for p in prices) and len(set(prices)) > 5
        assert prices == [demo_price(f"id{k}", garment) for k in range(50)]


def test_builder_writes_catalog_queries_boards_and_readme(clothing_root, tmp_path, capsys):
    out = tmp_path / "demo-clothing"
    argv = ["data", "demo-catalog", "--data", str(clothing_root), "--out", str(out), "--n", "12", "--queries", "6",
            "--sheet", str(tmp_path / "sheet.png")]
    assert main(argv) == 0
    assert "wrote 12 products" in capsys.readouterr().out
    items = read_catalog(out / "catalog.csv")
    queries = read_catalog(out / "queries" / "queries.csv")
    assert len(items) == 12 and len(queries) == 6
    painted = {r[0]: dict(GARMENT_COLOURS)[r[1]]
               for r in csv.reader((clothing_root / "clothing" / "images.csv").open()) if r[1] in dict(GARMENT_COLOURS)}
    from stylist.colors import color_family

    for it in items + queries:
        with Image.open(it.image) as im:
            assert max(im.size) <= MAX_SIDE and im.format == "JPEG"
        assert it.category == CLOTHING_CLASS_MAP[it.extra["garment"]] and it.category in CLASSES
        assert color_family(it.color) == EXPECTED_FAMILY[painted[it.id]], it
        assert it.name.split()[0].lower() == it.color and it.extra["price_note"] == PRICE_NOTE
    boards = json.loads((out / "boards" / "boards.json").read_text())
    query_ids = {q.id for q in queries}
    for board in boards:
        with Image.open(out / "boards" / board["image"]) as im:
            assert im.size == (512, 512)
        assert {i["query"] for i in board["items"]} <= query_ids and len(board["items"]) >= 2
    readme = (out / "README.md").read_text()
    assert "CC0" in readme and "invented demo data" in readme and "| **all** |" in readme
    assert (tmp_path / "sheet.png").is_file()
    assert main(argv) == 0  # re-runnable: same selection, photos kept
    assert read_catalog(out / "catalog.csv") == items


def test_committed_demo_catalog_is_whole_and_small():
    items = read_catalog(DEMO_CLOTHING_DIR / "catalog.csv")
    queries = read_catalog(DEMO_CLOTHING_DIR / "queries" / "queries.csv")
    assert len(items) >= 900 and 15 <= len(queries) <= 30
    assert {it.id for it in items}.isdisjoint(q.id for q in queries)
    assert all(Path(it.image).is_file() for it in items + queries)
    assert {it.category for it in items} <= set(CLASSES)
    assert all(it.price is not None and it.price > 0 and it.color for it in items)
    assert folder_megabytes(DEMO_CLOTHING_DIR) <= BUDGET_MB
    with Image.open(items[0].image) as im:
        assert max(im.size) <= MAX_SIDE


@pytest.mark.shared_data
def test_committed_selection_is_what_the_builder_picks(shared_data):
    catalog, queries = select_photos(load_clothing(shared_data), 1000, 20)
    assert [p.path.stem for p in catalog] == [it.id for it in read_catalog(DEMO_CLOTHING_DIR / "catalog.csv")]
    assert [p.path.stem for p in queries] == [q.id for q in read_catalog(DEMO_CLOTHING_DIR / "queries" / "queries.csv")]
