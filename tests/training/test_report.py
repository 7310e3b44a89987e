"""Report pictures are written from plain arrays: curves from any log CSV, contact sheets, detection grids."""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.results import Detection
from training import report
from training.eval_detector import EvalBoard


def _imgs(tmp_path, n):
    paths = []
    for k in range(n):
        p = tmp_path / f"i{k}.jpg"
        Image.new("RGB", (40 + k, 60), (20 * k % 255, 100, 150)).save(p)
        paths.append(p)
    return paths


def test_training_curves_from_csvs(tmp_path):
    weights = tmp_path / "weights"
    (weights / "det").mkdir(parents=True)
    (weights / "det" / "results.csv").write_text(
        "                  epoch,  train/box_loss,  metrics/mAP50(B)\n1,2.0,0.1\n2,1.5,0.4\n3,1.2,0.6\n")
    (weights / "notes.csv").write_text("name,comment\na,b\n")  # nothing numeric: skipped
    (weights / "clip.jsonl").write_text('{"epoch": 1, "loss": 3.1, "tag": "x"}\n{"epoch": 2, "loss": 2.5, "tag": "y", '
                                        '"val": 0.3}\n{"epoch": 3, "loss": 2.2, "val": 0.5}\n')
    out = tmp_path / "out"
    out.mkdir()
    written = report.plot_training_curves(weights, out)
    assert [p.name for p in written] == ["curves_clip.png", "curves_det_results.png"]
    log = report.read_log(weights / "clip.jsonl")  # "val" logged on two epochs only: kept, with a gap
    assert list(log) == ["epoch", "loss", "val"] and log["loss"] == [3.1, 2.5, 2.2]
    assert np.isnan(log["val"][0]) and log["val"][1:] == [0.3, 0.5]
    assert Image.open(written[0]).size[0] > 100


def test_retrieval_and_text_sheets(tmp_path):
    paths = _imgs(tmp_path, 12)
    queries = [Image.open(paths[0]).convert("RGB"), Image.open(paths[1]).convert("RGB")]
    top = np.array([[0, 2, 3, 4, 5, 6, 7, 8, 9, 10], [3, 1, -1, 4, 5, 6, 7, 8, 9, 10]])
    labels = ["Shoes", "Hats"] * 6
    out = report.retrieval_sheet(queries, [0, 1], top, paths, labels, ["Shoes", "Hats"], tmp_path / "r.png", "ae512")
    img = Image.open(out)
    assert img.size == (11 * report.CELL + 8, 22 + 2 * report.CELL)
    # the exact product (row 0, first result) is outlined green
    assert img.getpixel((8 + report.CELL + 1, 22 + 1)) == report.GREEN
    out = report.text_query_sheet(["red dress"], top[:1, :8], paths, [[True] + [False] * 7], tmp_path / "t.png")
    assert Image.open(out).size == (240 + 8 * report.CELL, 22 + report.CELL)
    assert report.retrieval_sheet([], [], top, paths, labels, [], tmp_path / "none.png", "x") is None


def test_detection_examples_one_board_per_class(tmp_path):
    paths = _imgs(tmp_path, 2)
    boards = [EvalBoard(paths[0], "board", [{"product_id": "a", "category": "Shoes", "box": [1, 1, 20, 30]}]),
              EvalBoard(paths[1], "board", [{"product_id": "b", "category": "Hats", "box": [2, 2, 30, 40]},
                                            {"product_id": "c", "category": "Shoes", "box": [5, 5, 9, 9]}])]
    images = [Image.open(p).convert("RGB") for p in paths]
    dets = [[Detection(0, "Shoes", 0.8, (1.0, 2.0, 19.0, 29.0))], []]
    out = report.detection_examples(boards, images, dets, ["Shoes", "Hats", "Watches"], tmp_path / "d.png", side=100)
    assert Image.open(out).size == (400, 100)  # two classes present → two panels in a 4-wide row
