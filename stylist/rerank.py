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

from stylist.colors import color_match
from stylist.results import ParsedQuery

COLOR_BOOST = 3.0  # in standard deviations of the fused score: a wanted colour family ranks first
NEAR_COLOR_FACTOR = 0.5  # a commonly confused family (navy vs black) gets a partial boost
KIND_BOOST = 1.0  # the item's own kind, when a colour/price wish widened the candidates beyond it


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


def passes_filters(meta: Mapping[str, object], query: ParsedQuery) -> bool:
    """Hard constraints: price range and, when the words name one, the category."""
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
    return True


def rerank(
    metas: Sequence[Mapping[str, object]],
    visual: np.ndarray | None,
    clip: np.ndarray | None,
    query: ParsedQuery | None,
    text_weight: float = 0.5,
    use_filters: bool = True,
    prefer_categories: Sequence[str] = (),
) -> Ranked:
    """Order candidates by fused score; with ``use_filters``, drop price/category misses and boost colours.

    ``visual``: cosine similarities to the query crop (None for text-only search); ``clip``: CLIP
    text-image similarities (None when there are no words). ``prefer_categories``: the item's own kind,
    boosted (softly) so that "in blue" changes the colour, not the kind of product. Returns positions into ``metas``.
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
            boost += COLOR_BOOST * np.where(match >= 1.0, 1.0, match * NEAR_COLOR_FACTOR)
        if prefer_categories:
            boost += KIND_BOOST * np.array([m.get("category") in prefer_categories for m in metas], dtype=float)
        scores = scores + spread * boost
    else:
        keep = np.ones(n, dtype=bool)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-scores[idx], kind="stable")]
    return Ranked(order, scores[order])
