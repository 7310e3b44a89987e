"""The autoencoder training entry point runs end to end on tiny made-up crops and exports a loadable model."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from stylist.config import load_config
from stylist.models import load_embedder
from stylist.models.checkpoints import load_checkpoint


def test_train_autoencoder_tiny(tmp_path, fake_ctl_root):
    from training.train_autoencoder import main

    root = fake_ctl_root
    export = tmp_path / "ae.pt"
    tiny = json.dumps({"image_size": 32, "channels": [8, 16], "latent_channels": 16})
    rc = main(["--variant", "ae512", "--data", str(root), "--out", str(tmp_path / "run"), "--device", "cpu",
               "--epochs", "2", "--batch-size", "8", "--workers", "1", "--eval-every", "1",
               "--arch-overrides", tiny, "--export", str(export)])
    assert rc == 0
    ckpt = load_checkpoint(export)
    assert ckpt["arch"]["image_size"] == 32 and ckpt["train_config"]["variant"] == "ae512"
    assert ckpt["metrics"]["epochs"] == 2 and "val_cat_P@5" in ckpt["metrics"]
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(log) == 3 and "recon" in log[0]
    emb = load_embedder(load_config(env={"STYLIST_EMBEDDER": str(export)}))
    v = emb.embed([Image.new("RGB", (40, 60), "red")])
    assert v.shape == (1, 16) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-4)
