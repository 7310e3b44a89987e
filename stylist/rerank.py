"""Pure ranking: fuse visual and CLIP text-image scores and apply the parsed colour/category/price wishes.

No I/O and no models: arrays and metadata in, an order and scores out, so every ranking
decision is unit-testable. Naively adding raw scores fails because CLIP similarities live in a narrow
band (~0.2-0.35) while visual cosines spread over ~0.5-1.0 (naively mixed, text+image queries work
poorly), so the CLIP score is first mapped onto the visual score's spread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from stylist.colors import color_family, color_match
from stylist.results import ParsedQuery

COLOR_BOOST = 3.0  # in standard deviations of the fused score: a wanted colour family ranks first
NEAR_COLOR_FACTOR = 0.5  # a commonly confused family (navy vs black) gets a partial boost
KIND_BOOST = 1.0  # the item's own kind, when a colour/price wish widened the candidates beyond it
CHEAP_BOOST = 1.5  # "cheap": the cheapest candidate gains this many spreads, the dearest of n 1/n of it
UNSURE_PENALTY = 1.0  # a colour read from pixels with confidence c keeps 1 - UNSURE_PENALTY·(1-c) of its boost
EVIDENCE_WEIGHT = 0.25  # for colours read from pixels: share of the colour score taken from CLIP's evidence
# When CLIP's evidence is given (a refinement such as "in red"), the colour outweighs visual likeness:
# it is the shopper's explicit wish, and a colour read from pixels is uncertain, so the surest products
# of the wanted colour come first; visual likeness orders products whose colour is about as sure, and every
# product of a catalog's own colour (all equally sure). Chosen on held-out FPI validation-split queries with
# colours read from pixels (python -m training.tune_colour, 200 items × 3 asked colours): colour P@5 0.841 /
# 0.853 / 0.866 / 0.879 / 0.884 at 20 / 40 / 80 / 160 / 400 with EVIDENCE_WEIGHT 0.25 (0.838 at 20 with 0.5;
# at 160, 0 gave 0.874), category P@5 0.961 throughout. Past 160 the gain is within noise while likeness
# counts for ever less. Catalog colours get the same weight, so that in a catalog mixing both a named colour
# is never outranked by a guessed one.
REFINE_COLOR_BOOST = 160.0
# A negated sub-kind or material ("shoes, no heels", "without leather"): a candidate CLIP sees as the
# excluded words rather than the reference loses this many spreads per unit of that probability — as
# strong as a colour wish, so a heel that is the closest look-alike still drops below flats nearly as close.
EXCLUDE_PENALTY = 3.0

# Share of the CLIP image cosine in an item's visual likeness (blend_visual). Chosen on the val
# split: exact-product Recall@10 of found items 0.61 -> 0.83 (composites on real backgrounds), 0.97 -> 1.00
# (cluttered boards), 0.94 -> 0.98 (catalogue boards); top-5 majority class of real photos 0.26 -> 0.37
# (0.44 with the fused kind preferred: stylist.candidates). 0.8 ranks real photos a little better and boards no better.
VISUAL_BLEND = 0.6


@dataclass(frozen=True)
class Ranked:
    """Positions into the candidate arrays, best first, with their final scores."""

    order: np.ndarray
    scores: np.ndarray


def _standardise(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-9 else np.zeros_like(x)


def fuse(visual: np.ndarray | None, clip: np.ndarray | None, text_weight: float) -> np.ndarray:
    """Blend visual and CLIP similarities on the visual scale: (1-w)·visual + w·CLIP-rescaled.

    CLIP scores are standardised over the candidates and mapped to the visual scores' mean/spread, so
    ``text_weight`` means the same thing whatever the two models' raw ranges are. Either may be None.
    """
    if visual is None and clip is None:
        raise ValueError("fuse needs visual or CLIP scores")
    if clip is None:
        return np.asarray(visual, dtype=np.float64)
    clip = np.asarray(clip, dtype=np.float64)
    if visual is None:
        return clip
    visual = np.asarray(visual, dtype=np.float64)
    spread = float(visual.std()) or 0.05
    clip_on_visual = visual.mean() + _standardise(clip) * spread
    return (1.0 - text_weight) * visual + text_weight * clip_on_visual


def blend_visual(ae: np.ndarray, clip_image: np.ndarray | None, weight: float) -> np.ndarray:
    """How alike each candidate looks: the autoencoder cosine blended with the CLIP image–image cosine.

    The autoencoder learned products on white, so on a shopper's photo (a bed, a floor behind the garment)
    its cosine also measures the background; CLIP's image tower, trained against words, is far less
    distracted by it. The CLIP cosine is put on the AE scale first (``fuse``), so the result reads like
    the AE similarity it replaces. ``weight`` 0 (or no CLIP vectors) = the AE cosine alone.
    """
    if clip_image is None or weight <= 0 or len(ae) == 0:
        return np.asarray(ae, dtype=np.float64)
    return fuse(ae, clip_image, weight)


def passes_filters(meta: Mapping[str, object], query: ParsedQuery) -> bool:
    """Hard constraints: price range, the named category, and the excluded colours and categories."""
    price = meta.get("price")
    if query.max_price is not None or query.min_price is not None:
        if not isinstance(price, (int, float)):
            return False
        if query.max_price is not None and price > query.max_price:
            return False
        if query.min_price is not None and price < query.min_price:
            return False
    if query.categories and meta.get("category") not in query.categories:  # index time stored it as a class
        return False
    if query.exclude_categories and meta.get("category") in query.exclude_categories:
        return False
    if query.exclude_colors:
        family = color_family(str(meta.get("color") or ""))
        if family is not None and family in {color_family(c) for c in query.exclude_colors}:
            return False
    return True


def _cheapness(metas: Sequence[Mapping[str, object]]) -> np.ndarray:
    """1 for the cheapest candidate down to 1/n for the dearest of n priced ones; 0 without a price (unknown
    is not cheap)."""
    prices = np.array([float(p) if isinstance(p := m.get("price"), (int, float)) else np.nan for m in metas])
    priced = ~np.isnan(prices)
    out = np.zeros(len(metas))
    if priced.any():
        ranks = prices[priced].argsort(kind="stable").argsort()
        out[priced] = 1.0 - ranks / priced.sum()
    return out


def _color_certainty(metas: Sequence[Mapping[str, object]]) -> np.ndarray:
    """How far each product's stored colour can be trusted: 1 for a catalog's own colour, less for a colour
    read from the pixels (``color_confidence``), so the surest matches of a wanted colour come first."""
    conf = np.array([float(c) if isinstance(c := m.get("color_confidence"), (int, float)) else 1.0 for m in metas])
    return 1.0 - UNSURE_PENALTY * (1.0 - np.clip(conf, 0.0, 1.0))


def rerank(
    metas: Sequence[Mapping[str, object]],
    visual: np.ndarray | None,
    clip: np.ndarray | None,
    query: ParsedQuery | None,
    text_weight: float = 0.5,
    use_filters: bool = True,
    prefer_categories: Sequence[str] = (),
    color_evidence: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> Ranked:
    """Order candidates by fused score; with ``use_filters``, drop price/category misses and boost colours.

    ``visual``: cosine similarities to the query crop (None for text-only search); ``clip``: CLIP
    text-image similarities (None when there are no words). ``prefer_categories``: the item's own kind,
    boosted (softly) so that "in blue" changes the colour, not the kind of product. ``color_evidence``:
    per candidate, CLIP's probability that its image shows a wanted colour family; it is blended into the
    colour score of products whose colour was read from pixels (a catalog's own colour is taken as given).
    ``excluded``: per candidate, CLIP's probability that it shows the words the shopper excluded
    (``stylist.word_scores``); it demotes, it never filters (a catalog of only heels still answers).
    Returns positions into ``metas``.
    """
    n = len(metas)
    if n == 0:
        return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0))
    scores = fuse(visual, clip, text_weight)
    if use_filters and query is not None:
        keep = np.array([passes_filters(m, query) for m in metas], dtype=bool)
        # one yardstick for every boost: the spread of the fused scores among the survivors
        spread = max(float(scores[keep].std()) if keep.sum() > 1 else 0.0, 0.02)
        boost = np.zeros(n)
        if query.colors:
            match = np.array([color_match(str(m.get("color") or ""), query.colors) for m in metas])
            color = np.where(match >= 1.0, 1.0, match * NEAR_COLOR_FACTOR) * _color_certainty(metas)
            weight = COLOR_BOOST
            if color_evidence is not None:
                from_pixels = np.array([isinstance(m.get("color_confidence"), (int, float)) for m in metas])
                blended = (1 - EVIDENCE_WEIGHT) * color + EVIDENCE_WEIGHT * np.asarray(color_evidence, dtype=float)
                color = np.where(from_pixels, blended, color)
                weight = REFINE_COLOR_BOOST
            boost += weight * color
        if prefer_categories:
            boost += KIND_BOOST * np.array([m.get("category") in prefer_categories for m in metas], dtype=float)
        if query.cheap:
            boost += CHEAP_BOOST * _cheapness(metas)
        if excluded is not None:
            boost -= EXCLUDE_PENALTY * np.asarray(excluded, dtype=float)
        scores = scores + spread * boost
    else:
        keep = np.ones(n, dtype=bool)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-scores[idx], kind="stable")]
    return Ranked(order, scores[order])
