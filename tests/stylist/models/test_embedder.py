"""The crop embedder: N×dim float32 unit rows, deterministic, the same for one crop alone or in a batch."""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.models.autoencoder import Autoencoder, AutoencoderConfig, Preprocess
from stylist.models.embedder import ImageEmbedder


def _embedder() -> ImageEmbedder:
    cfg = AutoencoderConfig(image_size=32, channels=(8, 16), latent_channels=24, n_classes=2)
    return ImageEmbedder(Autoencoder(cfg), Preprocess(32), "tiny", classes=["a", "b"], batch_size=2)


def test_embed_shapes_and_norms():
    emb = _embedder()
    imgs = [Image.new("RGB", (30 + i, 50), (40 * i, 10, 200)) for i in range(5)]
    out = emb.embed(imgs)
    assert out.shape == (5, 24) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(emb.embed(imgs[3:4])[0], out[3], atol=1e-5)  # batching does not change a vector
    assert emb.embed([]).shape == (0, 24)
    labels = emb.classify(imgs[:2])
    assert all(lbl in ("a", "b") and 0 < p <= 1 for lbl, p in labels)
