"""How a shopper's wish is relaxed to fit the catalog, and loosened further when the candidates cannot meet it.

``relax_query`` drops (or softens) the parts of a wish the catalog cannot satisfy (``CatalogProfile``
counts what it has), in a fixed order, and says in words what it relaxed, so the "understood as" line can
show it. ``rerank_or_loosen`` is the last resort: the profile allowed a combination that the candidates
of one search still cannot meet, so the query is loosened in the same order until something passes.

Relaxation order (each step sees the query the previous steps left):
  1. price   — no prices in the catalog, or none of the wanted kind within the limits: drop the limits
               (and "cheap").
  2. category — no categories in the catalog, or none of a named category: drop it (its words stay in
               the CLIP terms, so "dress" still means dress to the text-image model). The item's own kind
               (a refinement) with fewer products than a page: its products first, then other kinds.
  3. colour  — none of the kind in that colour family: drop the colour filter (the word stays for CLIP);
               fewer than a page: keep them first, then the kind's other colours ("only 3 Skirts in red").
  4. exclusions — excluding leaves none of the kind: drop the exclusion.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from stylist.catalog_profile import CatalogProfile
from stylist.colors import color_family
from stylist.rerank import Ranked, rerank
from stylist.results import ParsedQuery


@dataclass(frozen=True)
class Relaxed:
    """The query to search with, the kind (categories) to keep, and whether kind and colour are filters
    (else boosts: their products first, then the rest)."""

    query: ParsedQuery
    kind: list[str]
    color_is_filter: bool
    kind_is_filter: bool = True


def _price_words(q: ParsedQuery) -> str:
    if q.min_price is not None and q.max_price is not None:
        return f"between {q.min_price:g} and {q.max_price:g}"
    if q.max_price is not None:
        return f"under {q.max_price:g}"
    return f"over {q.min_price:g}" if q.min_price is not None else "cheap"


def relax_query(query: ParsedQuery, profile: CatalogProfile, kind: Sequence[str] = (), page: int = 10) -> Relaxed:
    """Fit ``query`` to the catalog in the documented order; ``kind`` is the item's class (a refinement),
    overridden by categories the shopper named. ``page``: how many results a page shows."""
    notes: list[str] = []
    q = query
    kind = list(q.categories or kind)
    # 1. price
    wants_price = q.max_price is not None or q.min_price is not None or q.cheap
    if wants_price and not profile.has_prices:
        notes.append("no prices in this catalog")
        q = dataclasses.replace(q, max_price=None, min_price=None, cheap=False)
    elif (q.max_price is not None or q.min_price is not None) \
            and profile.priced_between(kind, q.min_price, q.max_price) == 0:
        notes.append(f"nothing {_price_words(q)}" + (f" in {', '.join(kind)}" if kind else ""))
        q = dataclasses.replace(q, max_price=None, min_price=None)
    # 2. category
    if q.categories and not profile.has_categories:
        notes.append("no categories in this catalog")
        q = dataclasses.replace(q, categories=[])
        kind = []
    elif q.categories:
        missing = [c for c in q.categories if profile.categories.get(c, 0) == 0]
        if missing:
            notes.append(f"no {', '.join(missing)} in this catalog")
            q = dataclasses.replace(q, categories=[c for c in q.categories if c not in missing])
            kind = list(q.categories)
    kind = [c for c in kind if profile.categories.get(c, 0) > 0]
    kind_is_filter = bool(kind)
    have_kind = sum(profile.categories.get(c, 0) for c in kind)
    if kind and not q.categories and have_kind < page:  # the item's own kind, too rare to fill a page
        notes.append(f"only {have_kind} {', '.join(kind)} in this catalog — then other kinds")
        kind_is_filter = False
    # 3. colour
    color_is_filter = bool(q.colors)
    if q.colors:
        families = list(dict.fromkeys(f for f in (color_family(c) for c in q.colors) if f))
        have = sum(profile.count(kind, f) for f in families)
        what = f"{', '.join(kind) or 'products'} in {'/'.join(q.colors)}"
        if have == 0:
            notes.append(f"no {what} in this catalog")
            q = dataclasses.replace(q, colors=[])
            color_is_filter = False
        elif have < page:
            notes.append(f"only {have} {what} — then other colours")
            color_is_filter = False
    # 4. exclusions
    if q.exclude_categories or q.exclude_colors:
        fams = [f for f in (color_family(c) for c in q.exclude_colors) if f]
        if profile.count(kind, None, q.exclude_categories, fams) == 0:
            notes.append("nothing left after the exclusions")
            q = dataclasses.replace(q, exclude_categories=[], exclude_colors=[])
    return Relaxed(dataclasses.replace(q, relaxed=[*query.relaxed, *notes]), kind, color_is_filter, kind_is_filter)


def refines(query: ParsedQuery) -> bool:
    """Words that change what to show (colour, kind, price, exclusions), not only how to rank it."""
    return bool(query.colors or query.categories or query.max_price is not None or query.min_price is not None
                or query.cheap or query.exclude_colors or query.exclude_categories)


def looser_queries(query: ParsedQuery) -> list[tuple[ParsedQuery, str]]:
    """Ever looser versions of ``query``, in the relaxation order (price, category, colour, exclusions),
    each with what it dropped: the last resort when the catalog profile allowed a combination that the
    candidates still cannot meet (e.g. red *and* under 50 *and* a dress)."""
    steps, q = [], query
    if q.max_price is not None or q.min_price is not None:
        q = dataclasses.replace(q, max_price=None, min_price=None)
        steps.append((q, "the price limit"))
    if q.categories:
        q = dataclasses.replace(q, categories=[])
        steps.append((q, "the kind"))
    if q.colors:
        q = dataclasses.replace(q, colors=[])
        steps.append((q, "the colour"))
    if q.exclude_colors or q.exclude_categories:
        q = dataclasses.replace(q, exclude_colors=[], exclude_categories=[])
        steps.append((q, "the exclusions"))
    return steps


def rerank_or_loosen(metas: Sequence[Mapping[str, object]], visual: np.ndarray | None, clip_scores: np.ndarray | None,
                     query: ParsedQuery, text_weight: float, use_filters: bool, prefer: Sequence[str],
                     evidence: np.ndarray | None = None, excluded: np.ndarray | None = None
                     ) -> tuple[Ranked, ParsedQuery]:
    """``rerank``; when the filters leave nothing, loosen the query step by step (``looser_queries``) and
    say in the returned query's ``relaxed`` what was dropped."""
    ranked = rerank(metas, visual, clip_scores, query, text_weight, use_filters, prefer, evidence, excluded)
    for looser, dropped in ([] if len(ranked.order) or not use_filters else looser_queries(query)):
        ranked = rerank(metas, visual, clip_scores, looser, text_weight, use_filters, prefer, evidence, excluded)
        if len(ranked.order):
            query = dataclasses.replace(looser, relaxed=[*query.relaxed, f"nothing matched with {dropped}"])
            break
    return ranked, query


__all__ = ["Relaxed", "relax_query", "refines", "looser_queries", "rerank_or_loosen"]
