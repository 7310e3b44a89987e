"""The registry: every config loads on CPU (bundled weights, or random init with a warning), list works."""
from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from stylist.config import load_config
from stylist.models import list_models, load_detector, load_embedder


def test_list_models_names_every_config():
    names = {r["name"]: r for r in list_models()}
    assert {"yolov5n-fashion", "ae512", "ae4096", "fashion-lite"} <= set(names)
    assert names["ae512"]["kind"] == "embedder" and names["fashion-lite"]["kind"] == "clip"


def test_every_embedder_loads(caplog):
    img = Image.new("RGB", (60, 90), (200, 30, 30))
    for name, dim in (("ae512", 512), ("ae4096", 4096)):
        emb = load_embedder(load_config(env={}), name)
        assert emb.dim == dim
        v = emb.embed([img])
        assert v.shape == (1, emb.dim)
        np.testing.assert_allclose(np.linalg.norm(v), 1.0, atol=1e-5)


def test_missing_weights_warn_loudly(tmp_path, caplog, monkeypatch):
    import stylist.models.registry as registry

    monkeypatch.setattr(registry, "resolve_weights", lambda *a: None)
    with caplog.at_level(logging.WARNING):
        emb = load_embedder(load_config(env={}), "ae512")
    assert "RANDOM-INIT" in caplog.text and "random init" in emb.name


def test_detector_loads_with_serving_settings():
    config = load_config(env={"STYLIST_IMGSZ": "320", "STYLIST_DETECT_CONF": "0.4"})
    det = load_detector(config)
    assert det.imgsz == 320 and det.conf == 0.4 and len(det.classes) == 13
    assert isinstance(det.detect(Image.new("RGB", (100, 80), "white")), list)


def test_embedder_accepts_a_checkpoint_path(tmp_path):
    from stylist.models.autoencoder import Autoencoder, AutoencoderConfig
    from stylist.models.checkpoints import save_checkpoint

    cfg = AutoencoderConfig(image_size=32, channels=(8, 16), latent_channels=24, n_classes=13)
    path = save_checkpoint(tmp_path / "tiny.pt", kind="embedder", arch=cfg.to_dict(),
                           state_dict=Autoencoder(cfg).state_dict())
    emb = load_embedder(load_config(env={"STYLIST_EMBEDDER": str(path)}))
    assert emb.dim == 24 and emb.name == "tiny"
