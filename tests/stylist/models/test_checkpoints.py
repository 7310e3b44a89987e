"""Checkpoints describe themselves and round-trip; weights lookup prefers explicit paths."""
from __future__ import annotations

import pytest
import torch

from stylist.models.checkpoints import load_checkpoint, resolve_weights, save_checkpoint


def test_checkpoint_round_trip_fp16(tmp_path):
    sd = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    path = save_checkpoint(tmp_path / "m.pt", kind="embedder", arch={"dim": 4, "sizes": (1, 2)}, state_dict=sd,
                           train_config={"out": tmp_path}, classes=["a", "b"], metrics={"p@5": 0.5})
    ckpt = load_checkpoint(path)
    assert ckpt["kind"] == "embedder" and ckpt["arch"] == {"dim": 4, "sizes": [1, 2]}
    assert ckpt["classes"] == ["a", "b"] and ckpt["metrics"] == {"p@5": 0.5}
    assert ckpt["train_config"]["out"] == str(tmp_path)
    assert ckpt["state_dict"]["w"].dtype == torch.float16 and ckpt["state_dict"]["n"].dtype == torch.int64
    torch.testing.assert_close(ckpt["state_dict"]["w"].float(), sd["w"], atol=1e-2, rtol=1e-2)


def test_foreign_file_is_refused(tmp_path):
    torch.save({"model": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a stylist checkpoint"):
        load_checkpoint(tmp_path / "x.pt")


def test_resolve_weights(tmp_path):
    f = tmp_path / "w.pt"
    f.write_bytes(b"x")
    assert resolve_weights(str(f), "nope.pt") == f
    assert resolve_weights(None, "definitely-not-bundled.pt") is None
    with pytest.raises(FileNotFoundError):
        resolve_weights(str(tmp_path / "missing.pt"), None)
