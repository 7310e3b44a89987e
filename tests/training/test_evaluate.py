"""`stylist eval` end to end on a tiny made-up data root, with the registry's bundled models."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from stylist import metrics
from stylist.schema import CLASSES, canonical_class
from tests.helpers.tiny_root import build_tiny_root, ids_in_split
from training import eval_report, evaluate

COLOURS = ("Black", "White", "Red")
ARTICLES = ("Tshirts", "Jeans")


def _add_fpi(root: Path, n_test: int = 12) -> list[str]:
    """Replace fpi/ with held-out products of 3 colours × 2 article types (titles repeat, as FPI's do)."""
    fpi = root / "fpi"
    ids = ids_in_split("", "test", n_test) + ids_in_split("", "train", 6)
    rgb = {"Black": (20, 20, 20), "White": (235, 235, 235), "Red": (200, 30, 30)}
    with (fpi / "styles.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season",
                         "year", "usage", "productDisplayName"])
        for k, pid in enumerate(ids):
            colour, article = COLOURS[k % 3], ARTICLES[k % 2]
            writer.writerow([pid, "Men", "Apparel", "Topwear", article, colour, "Summer", "2012", "Casual",
                             f"Brand Men {colour} {article} {k % 4}"])
            img = Image.new("RGB", (60, 80), "white")
            ImageDraw.Draw(img).rectangle((12, 10, 48, 70) if article == "Tshirts" else (20, 5, 40, 75), fill=rgb[colour])
            img.save(fpi / "images" / f"{pid}.jpg")
    return ids[:n_test]


def _class_picture(k: int) -> Image.Image:
    """One picture per class, unlike every other class's (hue and shape change with ``k``)."""
    img = Image.new("RGB", (80, 100), "white")
    hue = int(255 * k / len(CLASSES))
    colour = Image.new("HSV", (1, 1), (hue, 230, 60 + 15 * (k % 4))).convert("RGB").getpixel((0, 0))
    draw, box = ImageDraw.Draw(img), (8 + 2 * (k % 3), 10, 72 - 2 * (k % 5), 92)
    [draw.ellipse, draw.rectangle, lambda b, fill: draw.polygon([(40, b[1]), (b[2], b[3]), (b[0], b[3])], fill=fill)][k % 3](box, fill=colour)
    return img


def _one_picture_per_class(root: Path) -> dict[str, int]:
    """Overwrite every CTL crop with its class's picture: each class is then ≥ 6 identical copies, so the
    answers are known whatever the model: category P@5 (with or without self) is 1, and an item's exact match
    ties with its ≥ 5 copies (ties count against the target), so no query can rank it in the top 5.
    Returns the number of crops per class, counted from crops.csv."""
    with (root / "ctl" / "crops.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    sizes: dict[str, int] = {}
    for row in rows:
        cls = canonical_class(row["category"])
        if cls is not None:
            _class_picture(CLASSES.index(cls)).save(root / "ctl" / row["file"], quality=90)
            sizes[cls] = sizes.get(cls, 0) + 1
    return sizes


@pytest.fixture(scope="module")
def eval_root(tmp_path_factory) -> Path:
    root = build_tiny_root(tmp_path_factory.mktemp("eval") / "data")
    sizes = _one_picture_per_class(root)
    assert set(sizes) == set(CLASSES) and min(sizes.values()) >= 6, sizes
    _add_fpi(root)
    return root


@pytest.mark.timeout(300)
def test_eval_end_to_end_on_tiny_data(eval_root, tmp_path, stylist_home, capsys):
    bench = tmp_path / "BENCHMARKS.md"
    bench.write_text("# Benchmarks\n\nThe lead's text stays.\n")
    out = tmp_path / "reports"
    rc = evaluate.main(["--data", str(eval_root), "--out", str(out), "--quick", "--n-boards", "3",
                        "--benchmarks", str(bench), "--skip", "search"])
    assert rc == 0
    report = json.loads((out / "metrics.json").read_text())

    keys = {c["key"] for c in report["checks"]}
    assert {"detector.map50", "detector.ms_per_image_p50", "autoencoder.ae512.p5_with_self",
            "autoencoder.ae512.p5_without_self", "autoencoder.ae512.recall_at_10", "autoencoder.ae512.mrr",
            "autoencoder.ae4096.p5_with_self", "clip.colour.top1", "clip.article_type.top1",
            "clip.text_to_image.recall_at_10"} <= keys
    assert report["checks"]
    for check in report["checks"]:
        assert {"value", "target", "anchor", "met"} <= set(check)
        if check["target"] is not None and check["value"] is not None:
            above = check["value"] >= check["target"]
            below = check["value"] <= check["target"]
            assert check["met"] is (above if check["direction"] == ">=" else below), check
    by_key = {c["key"]: c for c in report["checks"]}
    assert by_key["detector.map50"]["target"] == 0.85 and by_key["detector.map50"]["anchor"] == 0.609
    assert by_key["autoencoder.ae512.p5_with_self"]["anchor"] == 0.531

    det = report["detector"]
    assert det["boards"]["test_boards"] == 3
    assert sum(c["instances"] for c in det["per_class"].values()) <= det["instances"]
    assert 0.0 <= det["map50"] <= 1.0 and det["ms_per_image_p50"] > 0
    n_crops = 13 * 6 + 1  # tiny root: 2 crops per class and split, plus one Rings crop (→ Jewelry); Belts dropped
    assert report["meta"]["index"]["crops"] == n_crops
    for name in ("ae512", "ae4096"):
        ae = report["autoencoder"][name]
        # every class is ≥ 6 identical pictures (see _one_picture_per_class): the 4 or 5 nearest others of any
        # crop are copies of the same class, with or without the query itself
        assert ae["p5_with_self"] == 1.0 and ae["p5_without_self"] == 1.0
        assert ae["p5_without_self_per_class"] == {c: 1.0 for c in CLASSES}
        assert ae["index_size"] == n_crops
        # every board box is a CTL test crop (indexed) or a Fashion-MNIST item (not): ultralytics' label count
        assert ae["queries"] + ae["not_indexed_boxes"] == det["instances"] and ae["queries"] > 0
        # the target ties with its ≥ 5 identical copies and ties count against it: rank ≥ 5 for every query
        assert ae["recall_at_1"] == 0.0 and ae["recall_at_5"] == 0.0
        assert ae["mrr"] <= ae["detection_rate"] / 6 + 1e-4  # metrics.json keeps 5 digits
    assert report["autoencoder"]["ae512"]["dim"] == 512 and report["autoencoder"]["ae4096"]["dim"] == 4096
    assert report["autoencoder"]["ae512"]["index_mb_per_10k_fp32"] == pytest.approx(20.48)
    clip = report["clip"]
    assert clip["test_products"] == 12 and clip["text_to_image"]["gallery"] == 12
    assert clip["text_to_image"]["queries"] == 12  # "Brand Men <colour> <article> <k%4>": 12 distinct titles
    assert set(clip["article_type"]["classes"]) == set(ARTICLES)
    assert clip["colour"]["n"] == 12 and set(COLOURS) <= set(clip["colour"]["classes"])

    assert (out / "detection_examples.png").is_file() and (out / "text_queries.png").is_file()
    text = bench.read_text()
    assert text.startswith("# Benchmarks\n\nThe lead's text stays.\n")
    assert text.count(eval_report.START) == 1 and text.count(eval_report.END) == 1
    assert "detector mAP50" in text and "--quick" in text
    printed = capsys.readouterr().out
    assert "ae512 item Recall@10" in printed and "metrics.json" in printed


def test_benchmarks_markers_replace_only_between(tmp_path):
    bench = tmp_path / "BENCHMARKS.md"
    eval_report.update_benchmarks(bench, "first")  # missing file: markers created
    assert bench.read_text() == f"{eval_report.START}\nfirst\n{eval_report.END}\n"
    bench.write_text(f"# Title\n\nintro\n\n{eval_report.START}\nold\n{eval_report.END}\n\n## Speed\nlead's numbers\n")
    eval_report.update_benchmarks(bench, "new table")
    eval_report.update_benchmarks(bench, "newer table")
    text = bench.read_text()
    assert text == f"# Title\n\nintro\n\n{eval_report.START}\nnewer table\n{eval_report.END}\n\n## Speed\nlead's numbers\n"
    bench.write_text("# Only the lead's text\n")
    eval_report.update_benchmarks(bench, "x")
    assert bench.read_text() == f"# Only the lead's text\n\n{eval_report.START}\nx\n{eval_report.END}\n"


def test_checks_flags_and_table():
    results = {"detector": {"map50": 0.9, "map50_95": 0.7, "precision": 0.8, "recall": float("nan"),
                            "ms_per_image_p50": 40.0},
               "search": {"colour_p5": {"value": 0.75, "target": 0.8, "metric": "colour refinement P@5"},
                          "boards": {"item_recall_at_10": 0.95, "category_p_at_5": 0.9, "detected": 0.97},
                          "color_refinement": {"modes": {"full": {"color_p_at_5": 0.85, "category_p_at_5": 0.7}}},
                          "note": "not a check"}}
    checks = eval_report.build_checks(eval_report.clean(results), "ae512", "ae4096")
    by_key = {c["key"]: c for c in checks}
    assert by_key["detector.map50"]["met"] is True
    assert by_key["detector.recall"]["value"] is None and by_key["detector.recall"]["met"] is None
    assert by_key["search.colour_p5"]["met"] is False
    assert by_key["search.boards.item_recall_at_10"]["met"] is True
    assert by_key["search.color_refinement.modes.full.color_p_at_5"]["met"] is True
    assert by_key["search.color_refinement.modes.full.category_p_at_5"]["met"] is False
    assert "search.color_refinement.modes.clip.color_p_at_5" not in by_key  # not measured: no row
    assert not any(k.startswith("autoencoder") or k.startswith("clip") for k in by_key)  # skipped parts
    table = eval_report.format_table(checks)
    assert "detector mAP50" in table and ">= 0.850" in table and "colour refinement P@5" in table
    assert eval_report.clean({"a": np.float32(0.5), "_hidden": 1, "b": [np.int64(2), float("inf")]}) == {"a": 0.5, "b": [2, None]}


def test_test_boards_match_generate_boards(eval_root, tmp_path):
    """make_test_boards renders exactly generate_boards' test boards (same seed), skipping train/val."""
    from training.data.boards import generate_boards
    from training.eval_detector import load_test_boards, make_test_boards

    generate_boards(eval_root, tmp_path / "all", 40, imgsz=160, seed=3, workers=1, progress=False)
    full = load_test_boards(tmp_path / "all")
    only, info = make_test_boards(eval_root, tmp_path / "test", len(full), seed=3, imgsz=160)
    mine = load_test_boards(only)
    assert [b.path.name for b in mine] == [b.path.name for b in full]
    assert [b.boxes for b in mine] == [b.boxes for b in full]
    assert not any((tmp_path / "test" / "images" / "train").glob("*.jpg"))
    again, info2 = make_test_boards(eval_root, tmp_path / "test", len(full), seed=3, imgsz=160)
    assert info2 == info  # a complete cached folder is reused


def test_board_queries_and_item_retrieval(tmp_path):
    """Detector box → query crop; a miss stays a miss; an exact copy of an index image ranks first."""
    from stylist.config import load_config
    from stylist.models.registry import load_embedder
    from stylist.results import Detection
    from training.eval_detector import EvalBoard
    from training.eval_embedder import board_queries, item_retrieval

    rng = np.random.default_rng(1)
    index_imgs = []
    for k in range(6):
        img = Image.new("RGB", (64, 80), "white")
        ImageDraw.Draw(img).rectangle((8 + k, 6, 50, 70 - 3 * k), fill=tuple(int(c) for c in rng.integers(0, 220, 3)))
        index_imgs.append(img)
    board_img = Image.new("RGB", (200, 100), "white")
    board_img.paste(index_imgs[2], (10, 10))
    board = EvalBoard(tmp_path / "b.jpg", "board", [
        {"product_id": "p2", "category": "Shoes", "box": [10, 10, 74, 90]},
        {"product_id": "p4", "category": "Hats", "box": [120, 10, 184, 90]},  # no detection near it
        {"product_id": "fmnist-test-1", "category": "Shoes", "box": [90, 10, 110, 30]},  # not in the index
    ])
    dets = [Detection(0, "Shoes", 0.9, (12.0, 11.0, 74.0, 88.0)), Detection(1, "Hats", 0.5, (150.0, 60.0, 199.0, 99.0))]
    ids = [f"p{k}" for k in range(6)]
    queries = board_queries([board], [board_img], [dets], ids)
    assert queries["targets"].tolist() == [2, 4] and queries["not_indexed"] == 1
    assert queries["crops"][0] is not None and queries["crops"][1] is None

    embedder = load_embedder(load_config(), "ae512")
    index_emb = embedder.embed(index_imgs)
    exact = {"crops": [index_imgs[0], None, index_imgs[3]], "targets": np.array([0, 1, 3])}
    res = item_retrieval(embedder, exact, index_emb, top=4)
    assert res["queries"] == 3 and res["detection_rate"] == pytest.approx(2 / 3)
    q = embedder.embed([index_imgs[0], index_imgs[3]])
    expected = metrics.rank_of_target(q @ index_emb.T, [0, 3])  # whatever the (maybe untrained) model says
    assert res["_ranks"].tolist() == [expected[0], -1, expected[1]]
    assert res["recall_at_10"] == pytest.approx(2 / 3)  # 6 items: every found query is inside the top 10
    assert res["mrr"] == pytest.approx((1 / (expected[0] + 1) + 1 / (expected[1] + 1)) / 3)
    assert res["_top"][1].tolist() == [-1] * 4 and sorted(res["_top"][0]) == sorted(set(res["_top"][0]))
    real = item_retrieval(embedder, queries, index_emb, top=4)
    assert real["queries"] == 2 and real["detected"] == 1 and real["recall_at_10"] <= 0.5


def test_clip_metrics_protocol():
    """Colour classes are the catalogue's commonest; titles group into one query each."""
    from types import SimpleNamespace

    from training.eval_clip import top_colours

    items = [SimpleNamespace(color=c) for c in ["Black"] * 5 + ["White"] * 3 + ["Red"] * 2 + ["NA", ""]]
    assert top_colours(items, 2) == ["Black", "White"]
    assert top_colours(items) == ["Black", "White", "Red"]


def test_index_vectors_reuse_only_when_equal(tmp_path):
    """Stored vectors (the search eval's index) are used only if they match fresh ones; gaps are embedded."""
    from stylist.config import load_config
    from stylist.models.registry import load_embedder
    from training.eval_embedder import index_vectors

    rng = np.random.default_rng(2)
    paths = []
    for k in range(6):
        img = Image.new("RGB", (40, 50), "white")
        ImageDraw.Draw(img).ellipse((4, 4, 30 + k, 44), fill=tuple(int(c) for c in rng.integers(0, 220, 3)))
        paths.append(tmp_path / f"c{k}.png")
        img.save(paths[-1])
    ids = [f"c{k}" for k in range(6)]
    embedder = load_embedder(load_config(), "ae512")
    fresh, speed, source = index_vectors(embedder, paths, ids, None, sample=2)
    assert fresh.shape == (6, 512) and speed > 0 and source == "embedded here"

    gappy = fresh.copy()
    gappy[4] = 0.0  # the store lacks c4
    vecs, _, source = index_vectors(embedder, paths, ids, lambda asked: gappy if asked == ids else None, sample=2)
    assert source.startswith("search-eval index") and "1 embedded here" in source
    np.testing.assert_allclose(vecs, fresh, atol=1e-5)

    wrong = np.roll(fresh, 1, axis=0)  # another model's vectors: rejected
    vecs, _, source = index_vectors(embedder, paths, ids, lambda asked: wrong, sample=2)
    assert source == "embedded here"
    np.testing.assert_allclose(vecs, fresh, atol=1e-5)


def test_a_partial_run_merges_into_the_earlier_report():
    """``--only wild`` replaces the wild part, keeps every other part and its checks, and says when it ran."""
    old = {"meta": {"date": "d1", "command": "stylist eval", "machine": "m", "out": "reports", "held_out": "test",
                    "models": {"detector": "det"}, "timings_s": {"detector": 10.0, "wild": 50.0}, "notes": ["a"],
                    "runtime_s": 60.0},
           "pictures": ["detection_examples.png", "wild_photos.png"],
           "search": {"r10": {"value": 0.75, "target": 0.9, "metric": "search end to end R@10"}},
           "wild": {"real": {"photos": 9, "detected": 0.5, "label_accuracy": 0.1}, "composites": {}, "boards": {}},
           "checks": []}
    new = {"meta": {"date": "d2", "command": "stylist eval --only wild", "machine": "m", "models": {"clip": "c"},
                    "timings_s": {"wild": 40.0}, "notes": ["a", "b"], "load_average_1min_at_end": 3.5},
           "pictures": ["wild_photos.png"],
           "wild": {"real": {"photos": 9, "detected": 0.6, "label_accuracy": 0.4}, "composites": {}, "boards": {}}}
    merged = evaluate.merge_partial(old, new)
    assert merged["search"] == old["search"] and merged["wild"] == new["wild"]
    assert merged["pictures"] == ["detection_examples.png", "wild_photos.png"]
    assert merged["meta"]["date"] == "d1" and merged["meta"]["timings_s"] == {"detector": 10.0, "wild": 40.0}
    assert merged["meta"]["partial_runs"]["wild"] == {"date": "d2", "command": "stylist eval --only wild",
                                                     "machine": "m", "load_average_1min_at_end": 3.5, "seconds": 40.0}
    assert merged["meta"]["notes"] == ["a", "b"] and merged["meta"]["models"] == {"detector": "det", "clip": "c"}
    by_key = {c["key"]: c["value"] for c in merged["checks"]}
    assert by_key["search.r10"] == 0.75 and by_key["wild.real.label_accuracy"] == 0.4
    assert old["wild"]["real"]["label_accuracy"] == 0.1  # the earlier report itself is not changed
    text = eval_report.markdown_section(merged)
    assert "Part `wild` re-measured d2 with `stylist eval --only wild`" in text and "search end to end R@10" in text
