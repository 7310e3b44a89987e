"""The ``stylist data`` sub-commands run end to end and report missing data without a traceback."""
from __future__ import annotations

import json

from stylist.catalog import read_catalog
from stylist.cli import main


def test_catalog_and_boards_commands(tiny_root, tmp_path, capsys):
    assert main(["data", "catalog", "--source", "ctl", "--out", str(tmp_path / "c.csv"), "--data", str(tiny_root),
                 "--limit", "4"]) == 0
    assert len(read_catalog(tmp_path / "c.csv")) == 4
    assert main(["data", "boards", "--out", str(tmp_path / "b"), "--n", "6", "--imgsz", "160", "--workers", "1",
                 "--data", str(tiny_root)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"): out.rindex("}") + 1])
    assert sum(summary["boards"].values()) == 6 and summary["boxes"] > 0
    assert (tmp_path / "b" / "data.yaml").is_file()


def test_missing_data_is_a_clear_message(tmp_path, capsys):
    assert main(["data", "boards", "--out", str(tmp_path / "b"), "--n", "2", "--data", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
