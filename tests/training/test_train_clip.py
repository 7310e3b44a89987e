"""The CLIP training entry point: captions (locked MiniLM features) then a few LiT steps, offline, tiny data."""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.config import load_config
from stylist.models import load_clip
from stylist.models.checkpoints import load_checkpoint


def test_quantize_round_trip():
    from training.train_clip import dequantize, quantize

    x = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)
    q, s = quantize(x)
    assert q.dtype == np.int8 and s.dtype == np.float16
    assert np.abs(dequantize(q, s) - x).max() < 0.02 * np.abs(x).max()


def test_captions_then_fit_export_loads(tmp_path, fake_ctl_root, fake_fpi_root):
    from training.train_clip import main

    root = fake_fpi_root
    (root / "ctl").symlink_to(fake_ctl_root / "ctl", target_is_directory=True)
    caps = tmp_path / "captions.npz"
    assert main(["captions", "--data", str(root), "--captions", str(caps)]) == 0
    data = np.load(caps)
    assert data["q"].shape[1] == 384 and len(data["texts"]) == len(data["q"])
    assert "a photo of a red jeans" in set(data["texts"].tolist()) or any("photo of a" in t for t in data["texts"])
    export = tmp_path / "fl.pt"
    assert main(["fit", "--data", str(root), "--captions", str(caps), "--out", str(tmp_path / "run"),
                 "--device", "cpu", "--epochs", "1", "--batch-size", "16", "--workers", "1", "--eval-every", "1",
                 "--export", str(export)]) == 0
    ckpt = load_checkpoint(export)
    assert ckpt["kind"] == "clip" and "text.proj.weight" in ckpt["state_dict"]
    assert not any(k.startswith("text.transformer") for k in ckpt["state_dict"])
    assert "val_t2i_R@10" in ckpt["metrics"]
    clip = load_clip(load_config(env={"STYLIST_CLIP_PRETRAINED": str(export)}))
    assert clip.name == "fashion-lite"
    assert clip.embed_images([Image.new("RGB", (60, 80), "red")]).shape == (1, 256)
