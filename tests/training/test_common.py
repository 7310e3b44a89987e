"""Training helpers: a dataclass as a command line (every field type), the warmup-cosine rate, run saving."""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

import pytest
import torch

from stylist.models.checkpoints import load_checkpoint
from training.common import add_dataclass_args, save_run, warmup_cosine


@dataclass
class Example:
    name: str = "ae512"
    epochs: int = 3
    lr: float = 1e-3
    plots: bool = False
    limit: int | None = None
    tag: str | None = "x"


def _parse(argv: list[str]) -> Example:
    return Example(**vars(add_dataclass_args(argparse.ArgumentParser(), Example).parse_args(argv)))


def test_defaults_come_through_unchanged():
    assert _parse([]) == Example()


def test_every_field_type_parses():
    cfg = _parse(["--name", "ae4096", "--epochs", "7", "--lr", "0.5", "--plots", "true", "--limit", "12",
                  "--tag", "none"])
    assert cfg == Example(name="ae4096", epochs=7, lr=0.5, plots=True, limit=12, tag=None)
    assert _parse(["--plots", "No"]).plots is False and _parse(["--plots", "1"]).plots is True


@pytest.mark.parametrize("argv", [["--epochs", "2.5"], ["--plots", "maybe"], ["--limit", "many"]])
def test_bad_values_are_refused(argv):
    with pytest.raises(SystemExit):
        _parse(argv)


def test_warmup_then_cosine_to_zero():
    assert warmup_cosine(1.0, 0, 10, 0.0) == pytest.approx(0.1)  # first of 10 warmup steps
    assert warmup_cosine(1.0, 9, 10, 0.0) == pytest.approx(1.0)  # warmed up, cosine not started
    assert warmup_cosine(2.0, 50, 10, 0.5) == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi / 2)))  # = 1.0
    assert warmup_cosine(1.0, 99, 10, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert warmup_cosine(1.0, 99, 10, 3.0) == pytest.approx(0.0, abs=1e-12)  # past the budget: stays at 0


def test_save_run_writes_last_export_and_metrics(tmp_path):
    state = {"w": torch.ones(2, 2)}
    save_run(tmp_path / "run", str(tmp_path / "bundle.pt"), {"acc": 0.5}, kind="embedder", arch={"a": 1},
             state_dict=state, train_config={"lr": 0.1})
    for path in (tmp_path / "run" / "last.pt", tmp_path / "bundle.pt"):
        ckpt = load_checkpoint(path)
        assert ckpt["kind"] == "embedder" and ckpt["metrics"] == {"acc": 0.5} and ckpt["arch"] == {"a": 1}
        assert torch.equal(ckpt["state_dict"]["w"].float(), state["w"])
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"acc": 0.5}
