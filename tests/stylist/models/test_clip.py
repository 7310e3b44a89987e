"""fashion-lite builds offline from its real parts and embeds images and texts; LiT parts round-trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from stylist.config import load_config
from stylist.models import load_clip
from stylist.models.clip import TRAINED_PREFIXES, build_visual, load_imagenet_lite0, trained_state
from stylist.models.registry import get_model_config


@pytest.fixture(scope="module")
def clip():
    return load_clip(load_config(env={}))


def test_fashion_lite_embeds_images_and_texts(clip):
    imgs = [Image.new("RGB", (60, 80), c) for c in ("red", "navy", "white")]
    iv = clip.embed_images(imgs)
    tv = clip.embed_texts(["a red dress", "navy blue shirt"])
    assert iv.shape == (3, clip.dim) and tv.shape == (2, clip.dim) and clip.dim == 256
    np.testing.assert_allclose(np.linalg.norm(iv, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(tv, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(tv[0], tv[1])


def test_trained_parts_are_only_the_lit_parts(clip):
    part = trained_state(clip.model)
    assert part and all(k.startswith(TRAINED_PREFIXES) for k in part)
    assert not any(k.startswith("text.transformer") for k in part)  # the MiniLM stays in its package
    assert "text.proj.weight" in part and "logit_scale" in part


def test_visual_alone_matches_the_full_models_keys(clip):
    visual = build_visual(get_model_config("fashion-lite")["arch"])
    assert load_imagenet_lite0(visual.trunk) > 200
    full = {k[len("visual."):] for k in clip.model.state_dict() if k.startswith("visual.")}
    assert set(visual.state_dict()) == full
    with torch.no_grad():
        assert visual(torch.rand(2, 3, 64, 64)).shape == (2, 256)
