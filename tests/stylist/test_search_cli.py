"""`stylist search`: the JSON schema, the table, and clean errors (exit 1, no traceback)."""
from __future__ import annotations

import json
import re
import sys

import pytest

from stylist.cli import main as stylist_main
from stylist.config import load_config

from tests.helpers.catalog import make_catalog

DETECTION_KEYS = {"index", "label", "detector_label", "score", "box"}
PRODUCT_KEYS = {"id", "score", "name", "category", "color", "price", "image"}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """One index for the module (its tests only read it), in a private STYLIST_HOME kept for the module."""
    from index.build import build_index
    from stylist.models import shared_clip, shared_embedder

    root = tmp_path_factory.mktemp("search-cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STYLIST_HOME", str(root / "home"))
        mp.setenv("STYLIST_DB", str(root / "home" / "chroma"))
        catalog = make_catalog(root / "cat", per_combo=1)
        config = load_config()
        build_index(config, catalog, shared_embedder(config), shared_clip(config), progress=False)
        yield root / "cat" / "images"


def _check_schema(obj: dict) -> None:
    assert set(obj) == {"image", "detections", "results"} and isinstance(obj["image"], str)
    for d in obj["detections"]:
        assert set(d) == DETECTION_KEYS and len(d["box"]) == 4
    for r in obj["results"]:
        assert set(r) == {"detection", "query", "products"}
        assert r["detection"] is None or isinstance(r["detection"], int)
        assert set(r["query"]) == {"text", "colors", "categories", "min_price", "max_price", "cheap", "exclude_colors",
                                   "exclude_categories", "exclude_terms", "attributes", "terms", "relaxed"}
        for p in r["products"]:
            assert set(p) == PRODUCT_KEYS
            assert isinstance(p["score"], float) and (p["price"] is None or isinstance(p["price"], float))


def test_json_one_line_per_image_in_the_schema(indexed, capsys):
    images = [str(indexed / "sho-red-0.png"), str(indexed / "dre-blue-0.png")]
    assert stylist_main(["search", *images, "--text", "blue shoes under 100", "--top", "3", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, image in zip(lines, images):
        obj = json.loads(line)
        _check_schema(obj)
        assert obj["image"] == image
        r = obj["results"][0]
        q = r["query"]
        assert (q["text"], q["colors"], q["categories"], q["min_price"], q["max_price"]) == \
            ("blue shoes under 100", ["blue"], ["Shoes"], None, 100.0)
        assert len(r["products"]) == 3 and all(p["category"] == "Shoes" for p in r["products"])
        # one result per detected item, in the detections' order; none found: one for the whole image
        assert [r["detection"] for r in obj["results"]] == ([d["index"] for d in obj["detections"]] or [None])


def test_table_and_text_only(indexed, capsys):
    image = indexed / "han-green-0.png"
    assert stylist_main(["search", str(image), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"== {image}"
    blocks = [line for line in lines if line.lstrip().startswith("-- ")]  # one per searched item or the whole image
    rows = [line.split() for line in lines if re.match(r"\s+\d+\.\s", line)]
    assert blocks and [r[0] for r in rows] == ["1.", "2."] * len(blocks)  # --top 2 under every block
    assert all(re.fullmatch(r"(sho|dre|han|pan)-[a-z]+-0", r[-1]) for r in rows), rows  # catalog ids end each row
    assert stylist_main(["search", "--text", "red dress", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "Dresses · red]" in out and "understood: " in out and "dre-red-0" in out


@pytest.mark.parametrize("make,match", [
    (lambda d: d / "missing.jpg", "does not exist"),
    (lambda d: (d / "x.jpg").write_bytes(b"garbage") and d / "x.jpg", "not an image"),
    (lambda d: (d / "e.jpg").write_bytes(b"") or d / "e.jpg", "empty"),
])
def test_bad_images_exit_1_with_a_message(indexed, tmp_path, capsys, make, match):
    path = make(tmp_path)
    assert stylist_main(["search", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and match in captured.err and "Traceback" not in captured.err


def test_unknown_item_and_bad_item_flag(indexed, capsys):
    assert stylist_main(["search", str(indexed / "sho-red-0.png"), "--item", "7"]) == 1
    assert "item" in capsys.readouterr().err
    assert stylist_main(["search", str(indexed / "sho-red-0.png"), "--item", "x"]) == 2


def test_empty_index_and_unreachable_server(stylist_home, tmp_path, capsys, monkeypatch):
    img = tmp_path / "p.png"
    from tests.helpers.catalog import COLORS, draw_product
    draw_product("Shoes", COLORS["red"]).save(img)
    assert stylist_main(["search", str(img)]) == 1
    assert "empty" in capsys.readouterr().err
    monkeypatch.setenv("STYLIST_CHROMA_URL", "http://127.0.0.1:9")
    assert stylist_main(["search", str(img)]) == 1
    err = capsys.readouterr().err
    assert "http://127.0.0.1:9" in err and "Traceback" not in err


def test_no_arguments_is_a_usage_error(capsys):
    assert stylist_main(["search"]) == 2
