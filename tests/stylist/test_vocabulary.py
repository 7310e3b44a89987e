"""The refinement vocabulary: the terms a search looks up, embedded once and cached on disk."""
from __future__ import annotations

import numpy as np

from stylist.config import load_config
from stylist.models import shared_clip
from stylist.query import parse_query
from stylist.vocabulary import refinement_terms, text_vectors


def test_terms_are_what_parse_query_makes_of_common_refinements():
    terms = set(refinement_terms())
    for words in ("in red", "in black", "leather", "red dress", "navy", "sneakers", "in burgundy", "denim jacket"):
        assert parse_query(words).terms in terms
    assert "" not in terms and "in" not in terms


def test_vectors_are_cached_on_disk(tmp_path, monkeypatch):
    clip = shared_clip(load_config(env={"STYLIST_RUNTIME": "torch"}))
    calls = []
    real = clip.embed_texts
    monkeypatch.setattr(clip, "embed_texts", lambda texts: calls.append(len(texts)) or real(texts))
    first = text_vectors(clip, tmp_path, ["red", "blue"])
    np.testing.assert_allclose(first["red"], real(["red"])[0], atol=1e-5)  # the encoder's own vector
    again = text_vectors(clip, tmp_path, ["red", "blue"])
    assert calls == [2]  # the second call read the file
    np.testing.assert_array_equal(first["red"], again["red"])
    text_vectors(clip, tmp_path, ["red", "blue", "green"])  # another list: embedded anew
    assert calls == [2, 3]
