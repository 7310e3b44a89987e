"""``stylist models list``: the registry as a table (the selected models marked) or as JSON."""
from __future__ import annotations

import json

from stylist.cli import main
from stylist.models.registry import list_models
from stylist.models_cli import print_models


def test_print_models_prints_a_table(capsys):
    assert print_models([]) == 0
    out = capsys.readouterr().out
    assert "ae512" in out and "yolov5n-fashion" in out


def test_models_list_json_is_the_registry(capsys):
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == list_models()
