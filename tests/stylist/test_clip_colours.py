"""CLIP's second opinion on colours: when it overrules the pixels, its confidence, and its family prompts
(embedded once per text encoder, then read from the runtime cache)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from stylist.clip_colours import (CLIP_COLOUR_PROMPTS, CLIP_FAMILIES, ClipColours, clip_family_probs,
                                  clip_family_prompts, color_confidence, fuse_clip)
from stylist.config import load_config
from stylist.models import shared_clip
from stylist.models.clip import ClipModel


@pytest.fixture(scope="module")
def clip():
    return shared_clip(load_config(env={"STYLIST_RUNTIME": "torch"}))


def _counting(clip, monkeypatch) -> list[int]:
    calls: list[int] = []
    real = clip.embed_texts
    monkeypatch.setattr(clip, "embed_texts", lambda texts: calls.append(len(texts)) or real(texts))
    return calls


def test_cached_prompts_equal_freshly_embedded_ones(clip, tmp_path, monkeypatch):
    fresh = clip_family_prompts(clip)  # no cache: the text encoder's own vectors
    calls = _counting(clip, monkeypatch)
    first = clip_family_prompts(clip, tmp_path)
    again = ClipColours(clip, tmp_path).probs(np.eye(fresh.shape[1])[:3])  # a new reader, from the file
    assert calls == [len(CLIP_FAMILIES) * len(CLIP_COLOUR_PROMPTS)]  # embedded once, for the first call only
    np.testing.assert_array_equal(first, fresh)
    assert again.shape == (3, len(CLIP_FAMILIES))
    assert list(tmp_path.glob("text-*.npy"))


def test_a_changed_text_encoder_embeds_anew(clip, tmp_path):
    clip_family_prompts(clip, tmp_path)
    changed = ClipModel(copy.deepcopy(clip.model), clip.preprocess, clip.tokenizer, clip.name, clip.device)
    name, tensor = next((n, t) for n, t in changed.model.state_dict().items()
                        if not n.startswith("visual.") and t.is_floating_point() and t.ndim == 2)
    with torch.no_grad():
        tensor.mul_(1.5).add_(0.01)  # other weights → another digest → another cache file
    from_cache = clip_family_prompts(changed, tmp_path)
    np.testing.assert_array_equal(from_cache, clip_family_prompts(changed))
    assert not np.allclose(from_cache, clip_family_prompts(clip))
    assert len(list(tmp_path.glob("text-*.npy"))) == 2


def test_load_clip_gives_the_runtime_cache(clip):
    # shared per process, so made under whichever STYLIST_HOME loaded it first: <home>/cache/runtime
    assert clip.text_cache is not None and (clip.text_cache.parent.name, clip.text_cache.name) == ("cache", "runtime")
    assert ClipColours(clip).cache_dir == clip.text_cache


def test_clip_second_opinion_overrules_only_when_sure():
    prompts = np.eye(len(CLIP_FAMILIES))  # one orthogonal "prompt" per family
    red = CLIP_FAMILIES.index("red")
    sure = clip_family_probs(prompts[[red]], prompts)[0]
    assert sure.argmax() == red and sure[red] > 0.5 and abs(sure.sum() - 1) < 1e-9
    assert fuse_clip("navy", sure) == "red"  # sure of another family: CLIP's family name
    assert fuse_clip("maroon", sure) == "maroon"  # same family: the pixels' finer name stays
    fairly = np.full(len(CLIP_FAMILIES), 0.2 / (len(CLIP_FAMILIES) - 1))
    fairly[red] = 0.8
    assert fuse_clip("navy", fairly, pixel_share=0.6) == "red"
    assert fuse_clip("navy", fairly, pixel_share=0.95) == "navy"  # the pixels are surer: a one-colour garment
    unsure = clip_family_probs(np.full((1, len(CLIP_FAMILIES)), 0.1), prompts)[0]
    assert fuse_clip("navy", unsure) == "navy"


def test_colour_confidence_is_clips_probability_of_the_family():
    probs = np.zeros(len(CLIP_FAMILIES))
    probs[CLIP_FAMILIES.index("blue")] = 0.7
    probs[CLIP_FAMILIES.index("black")] = 0.3
    assert color_confidence("navy", probs) == 0.7 and color_confidence("black", probs) == 0.3
    assert color_confidence("red", probs) == 0.0 and color_confidence("multi", probs) == 0.0
