"""Negated words as a negative CLIP prompt: the reference, the probability, and a real CLIP model on real shoes."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.query import parse_query
from stylist.word_scores import FALLBACK_REFERENCE, exclusion_reference, excluded_probability, word_scores


def test_reference_is_the_wanted_terms_else_the_class_of_the_excluded_sub_kind():
    assert exclusion_reference(parse_query("sneakers, no heels")) == "sneakers"
    assert exclusion_reference(parse_query("no heels")) == "shoes"
    assert exclusion_reference(parse_query("without leather")) == FALLBACK_REFERENCE


def test_excluded_probability_is_a_two_way_softmax():
    images = np.array([[1.0, 0.0], [0.0, 1.0], [np.sqrt(0.5), np.sqrt(0.5)]])
    got = excluded_probability(images, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    e = np.exp(30.0)
    assert np.allclose(got, [e / (e + 1), 1 / (e + 1), 0.5])


def test_word_scores_only_embed_what_the_words_need():
    asked: list[str] = []

    def text(words: str) -> np.ndarray:
        asked.append(words)
        return np.array([1.0, 0.0]) if words == "heels" else np.array([0.0, 1.0])

    images = np.array([[1.0, 0.0], [0.0, 1.0]])
    ws = word_scores(images, parse_query("no heels"), text)
    assert ws.clip is None and ws.evidence is None and asked == ["heels", "shoes"]
    assert ws.excluded[0] > 0.99 and ws.excluded[1] < 0.01
    assert word_scores(images, parse_query("no heels"), text, full=False).excluded is None


def test_no_heels_demotes_real_heels_with_the_bundled_clip(shared_data):
    """On real FPI shoes, judged by FPI's own article types (independent of CLIP): "shoes, no heels"
    keeps fewer heels in the top 10 than "shoes" does, and at most 2."""
    from PIL import Image

    from stylist.config import load_config
    from stylist.models import shared_clip
    from stylist.rerank import rerank
    from training.data.catalog_writers import fpi_catalog
    from training.data.sources import resolve_data_root

    try:
        items = fpi_catalog(resolve_data_root(shared_data), split="test")
    except (FileNotFoundError, OSError):
        pytest.skip("no FPI data")
    heels = [it for it in items if it.category == "Heels"][:15]
    flats = [it for it in items if it.category in ("Flats", "Casual Shoes", "Sports Shoes")][:15]
    if len(heels) < 15 or len(flats) < 15:
        pytest.skip("too few FPI shoes")
    shoes = heels + flats
    clip = shared_clip(load_config())
    images = clip.embed_images([Image.open(it.image).convert("RGB") for it in shoes])
    metas = [{"category": "Shoes"} for _ in shoes]
    is_heel = np.array([it.category == "Heels" for it in shoes])
    for text, most in (("shoes", None), ("shoes, no heels", 2)):
        q = parse_query(text)
        ws = word_scores(images, q, lambda w: clip.embed_texts([w])[0])
        order = rerank(metas, None, ws.clip, q, excluded=ws.excluded).order[:10]
        got = int(is_heel[order].sum())
        if most is None:
            plain = got
        else:
            assert got < plain and got <= most, (plain, got)
