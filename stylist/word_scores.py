"""What the shopper's words say about each candidate, from the candidates' stored CLIP image vectors.

Three readings feed re-ranking (stylist.rerank): the similarity to the wanted words ("leather jacket"),
CLIP's probability that a product shows a wanted colour (a second look at colours read from pixels), and
the probability that it shows what the shopper excluded ("shoes, no heels", "bag without leather").

CLIP has no notion of "not": the text "no heels" sits next to pictures of heels. So an exclusion is a
negative prompt: each candidate's similarity to the excluded words is compared with its similarity to a
reference (the wanted words, else the class the excluded sub-kind belongs to — "heels" against "shoes"),
and a candidate that looks more like the excluded words is demoted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from stylist.query import category_of
from stylist.results import ParsedQuery

if TYPE_CHECKING:
    from stylist.clip_colours import ClipColours

EXCLUDE_SCALE = 30.0  # cosine difference -> logit, as CLIP's own temperature does
FALLBACK_REFERENCE = "a fashion product"


@dataclass(frozen=True)
class WordScores:
    """Per candidate: CLIP similarity to the terms, colour evidence, probability of the excluded words."""

    clip: np.ndarray | None = None
    evidence: np.ndarray | None = None
    excluded: np.ndarray | None = None


def exclusion_reference(query: ParsedQuery) -> str:
    """What an excluded word is weighed against: the wanted terms, else the generic name of the class the
    excluded words belong to ("no heels" -> "shoes"), else a neutral product prompt."""
    if query.terms:
        return query.terms
    classes = dict.fromkeys(c for w in query.exclude_terms.split() if (c := category_of(w)))
    return " ".join(c.lower() for c in classes) or FALLBACK_REFERENCE


def excluded_probability(image_vectors: np.ndarray, excluded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per L2-normalised CLIP image vector: the two-way softmax probability of the excluded text over the
    reference text (0.5 where CLIP cannot tell them apart)."""
    diff = np.asarray(image_vectors, dtype=np.float64) @ (np.asarray(excluded, dtype=np.float64)
                                                         - np.asarray(reference, dtype=np.float64))
    return 1.0 / (1.0 + np.exp(-EXCLUDE_SCALE * diff))


def word_scores(image_vectors: np.ndarray, query: ParsedQuery, text: Callable[[str], np.ndarray],
                colours: ClipColours | None = None, full: bool = True) -> WordScores:
    """The three readings for candidates with these CLIP image vectors. ``text`` embeds words (cached by
    the caller); ``colours`` (a ``ClipColours``) gives the colour evidence; ``full``: the colour and
    exclusion wishes count (off in the "clip" ranking mode, which blends words but applies no wishes)."""
    clip = image_vectors @ text(query.terms) if query.terms else None
    evidence = colours.evidence(image_vectors, query.colors) if full and colours is not None and query.colors else None
    excluded = None
    if full and query.exclude_terms:
        excluded = excluded_probability(image_vectors, text(query.exclude_terms), text(exclusion_reference(query)))
    return WordScores(clip, evidence, excluded)
