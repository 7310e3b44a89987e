"""The autoencoder: shapes of both variants, the embedding is normalised, preprocessing pads on white."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from stylist.models.autoencoder import Autoencoder, AutoencoderConfig, Preprocess
from stylist.models.registry import autoencoder_arch


def test_variants_have_the_originals_shapes():
    assert autoencoder_arch("ae512").dim == 512 and autoencoder_arch("ae4096").dim == 4096
    small = AutoencoderConfig(image_size=32, channels=(8, 16), latent_channels=24, n_classes=3)
    model = Autoencoder(small).eval()
    recon, emb, logits = model(torch.rand(2, 3, 32, 32))
    assert recon.shape == (2, 3, 32, 32) and emb.shape == (2, 24) and logits.shape == (2, 3)
    assert torch.allclose(emb.norm(dim=1), torch.ones(2), atol=1e-5)
    assert model.encoder(torch.rand(1, 3, 32, 32)).shape == (1, 24, 1, 1)  # a C×1×1 bottleneck


def test_ae512_bottleneck_is_512x1x1():
    model = Autoencoder(autoencoder_arch("ae512")).eval()
    with torch.no_grad():
        assert model.encoder(torch.rand(1, 3, 128, 128)).shape == (1, 512, 1, 1)


def test_config_round_trips():
    cfg = autoencoder_arch("ae4096")
    assert AutoencoderConfig.from_dict(cfg.to_dict()) == cfg


def test_preprocess_pads_to_square_on_white():
    tall = Image.new("RGB", (20, 40), (0, 0, 0))
    x = Preprocess(16)(tall)
    assert x.shape == (3, 16, 16)
    arr = x.numpy()
    assert np.allclose(arr[:, :, 0], 1.0)  # left margin: white padding
    assert np.allclose(arr[:, 4:12, 8], 0.0)  # middle: the black item
