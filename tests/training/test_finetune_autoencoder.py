"""The in-the-world pair renderer and the autoencoder fine-tuning run end to end on a tiny made-up data root."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from stylist.config import load_config
from stylist.models import load_embedder
from stylist.models.autoencoder import Autoencoder, AutoencoderConfig
from stylist.models.checkpoints import load_checkpoint, save_checkpoint
from stylist.schema import CLASSES
from tests.helpers.tiny_root import build_tiny_root
from training.data.dae_pairs import jitter_box, load_pairs

TINY = {"image_size": 32, "channels": [8, 16], "latent_channels": 16}


@pytest.fixture(scope="module")
def tiny_pairs(tmp_path_factory):
    """A tiny data root and train/val pairs rendered from it at 32 px."""
    from training.data.dae_pairs import main

    base = tmp_path_factory.mktemp("dae")
    root = build_tiny_root(base / "data")
    for split, items in (("train", 24), ("val", 8)):
        rc = main(["--out", str(base / split), "--data", str(root), "--boxes", str(base / f"boxes-{split}.jsonl"),
                   "--split", split, "--items", str(items), "--photo-repeats", "2", "--image-size", "32",
                   "--shard", "10", "--world-share", "0.75"])
        assert rc == 0
    return base


def test_pairs_hold_views_of_their_split_at_the_input_size(tiny_pairs):
    data = load_pairs(tiny_pairs / "train")
    cfg = json.loads((tiny_pairs / "train" / "config.json").read_text())
    assert len(data["view"]) == cfg["samples"] == 24 + 2 * cfg["photos"]
    assert len(list((tiny_pairs / "train").glob("shard-*.pkl"))) == cfg["shards"] == -(-cfg["samples"] // 10)
    kinds = set(data["kind"])
    assert "photo" in kinds and kinds & {"world", "catalog"}
    for view, clean, kind, product in zip(data["view"], data["clean"], data["kind"], data["product"]):
        assert Image.open(io.BytesIO(view)).size == (32, 32)
        assert (clean is None) == (kind == "photo") == product.startswith("cc0-")
    from training.data.splits import split_of

    assert {split_of(p) for p in data["product"] if not p.startswith("cc0-")} == {"train"}
    assert {split_of(p.removeprefix("cc0-")) for p in data["product"] if p.startswith("cc0-")} == {"train"}


def test_jitter_box_stays_inside_the_image():
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0, y0, x1, y1 = jitter_box([2, 3, 50, 40], (52, 44), rng, 0.3)
        assert 0 <= x0 < x1 <= 52 and 0 <= y0 < y1 <= 44 and x1 - x0 >= 4 - 1e-9


def test_finetune_few_steps_checkpoints_and_loads(tiny_pairs, tmp_path):
    from training.finetune_autoencoder import main

    torch.manual_seed(0)
    init = save_checkpoint(tmp_path / "init.pt", kind="embedder", arch=AutoencoderConfig.from_dict(TINY).to_dict(),
                           state_dict=Autoencoder(AutoencoderConfig.from_dict(TINY)).state_dict(), classes=CLASSES)
    export = tmp_path / "ae.pt"
    rc = main(["--pairs", str(tiny_pairs / "train"), "--val", str(tiny_pairs / "val"), "--init", str(init), "--teacher", str(init),
               "--out", str(tmp_path / "run"), "--limit-steps", "3", "--batch-size", "6", "--photos-per-batch", "2",
               "--recon-per-batch", "2", "--anchor-per-batch", "3", "--checkpoint-minutes", "0", "--lr", "1e-2", "--warmup-steps", "1", "--export", str(export)])
    assert rc == 0
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(log) == 1 + 3 and "val_photo_head_acc" in log[0]  # a row (and a checkpoint) per step here
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["threads"] == 1 and "val_world_R@10" in metrics["start"]
    before, after = load_checkpoint(init)["state_dict"], load_checkpoint(export)["state_dict"]
    assert after["encoder.squeeze.weight"].dtype == torch.float16  # exported as the bundled weights are
    assert not torch.allclose(before["encoder.squeeze.weight"].float(), after["encoder.squeeze.weight"].float(), atol=1e-4)
    assert torch.equal(before["encoder.stages.0.1.running_mean"].float(),  # BatchNorm statistics stay frozen
                       after["encoder.stages.0.1.running_mean"].float())
    assert main(["--export-from", str(tmp_path / "run" / "last.pt"), "--export", str(tmp_path / "again.pt")]) == 0
    again = load_checkpoint(tmp_path / "again.pt")["state_dict"]  # a stopped run's fp32 checkpoint, bundled
    assert all(torch.equal(again[k], after[k]) for k in after)
    emb = load_embedder(load_config(env={"STYLIST_EMBEDDER": str(export), "STYLIST_RUNTIME": "torch"}))
    v = emb.embed([Image.new("RGB", (40, 60), "red")])
    assert v.shape == (1, 16) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-4)
