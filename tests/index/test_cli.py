"""`stylist index build|remove|stats` through the command table (exit codes, output, no traceback)."""
from __future__ import annotations

import json

from tests.helpers.catalog import make_catalog
from stylist.cli import main as stylist_main


def test_build_stats_remove(stylist_home, tmp_path, capsys):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    assert stylist_main(["index", "build", str(catalog), "--quiet"]) == 0
    assert "24 added" in capsys.readouterr().out
    assert stylist_main(["index", "build", str(catalog), "--quiet"]) == 0
    assert "24 unchanged" in capsys.readouterr().out
    assert stylist_main(["index", "stats", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["count"] == 24 and info["categories"] == {"Shoes": 6, "Dresses": 6, "Handbags": 6, "Pants": 6}
    assert info["location"] == str(stylist_home / "chroma") and info["size_bytes"] > 0
    assert stylist_main(["index", "remove", "sho-red-0", "nope"]) == 0
    out = capsys.readouterr().out
    assert "removed 1" in out and "nope" in out
    assert stylist_main(["index", "stats"]) == 0
    out = capsys.readouterr().out
    assert "products:   23" in out and "Shoes 5" in out


def test_missing_catalog_and_unreachable_server(stylist_home, tmp_path, capsys, monkeypatch):
    assert stylist_main(["index", "build", str(tmp_path / "none.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("STYLIST_CHROMA_URL", "http://127.0.0.1:9")
    assert stylist_main(["index", "stats"]) == 1
    assert "http://127.0.0.1:9" in capsys.readouterr().err
