"""What a catalog can satisfy, and how a shopper's wish is relaxed to fit it.

A catalog without prices cannot honour "under 50"; one with no red skirts cannot honour "red skirt".
Filtering anyway returns an empty page, which tells the shopper nothing. ``CatalogProfile`` counts,
once per index, which metadata each product has and how many products there are per category and
colour family; ``relax_query`` drops (or softens) the parts the catalog cannot satisfy, in a fixed
order, and says in words what it relaxed, so the "understood as" line can show it.

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

import bisect
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from stylist.colors import color_family
from stylist.query import category_of
from stylist.results import ParsedQuery

ALL = "*"  # the key for "any category" in the per-category tables


@dataclass(frozen=True)
class CatalogProfile:
    """Per-catalog counts: products with a price / a category / a colour named by the catalog, and
    products per category (detection class) and per (category, colour family)."""

    products: int = 0
    priced: int = 0
    categorised: int = 0  # products whose category maps to a detection class
    catalog_colors: int = 0  # colours from the catalog's colour column (the rest were read from pixels)
    categories: dict[str, int] = field(default_factory=dict)
    colors: dict[str, dict[str, int]] = field(default_factory=dict)  # category (or ALL) -> family -> count
    prices: dict[str, list[float]] = field(default_factory=dict)  # category (or ALL) -> sorted prices

    @property
    def has_prices(self) -> bool:
        return self.priced > 0

    @property
    def has_categories(self) -> bool:
        return self.categorised > 0

    @property
    def has_catalog_colors(self) -> bool:
        return self.catalog_colors > 0

    def count(self, categories: Sequence[str] = (), family: str | None = None,
              exclude_categories: Sequence[str] = (), exclude_families: Sequence[str] = ()) -> int:
        """Products of any of ``categories`` (all when empty) in colour ``family`` (any when None)."""
        cats = [c for c in (categories or [c for c in self.categories if c != ALL]) if c not in exclude_categories]
        if not categories and not exclude_categories:
            cats = [ALL]
        total = 0
        for cat in cats:
            by_family = self.colors.get(cat, {})
            if family is not None:
                total += by_family.get(family, 0) if family not in exclude_families else 0
            else:
                total += sum(n for f, n in by_family.items() if f not in exclude_families)
        return total

    def priced_between(self, categories: Sequence[str], lo: float | None, hi: float | None) -> int:
        """Products of ``categories`` (all when empty) with a price within [lo, hi]."""
        total = 0
        for cat in (categories or [ALL]):
            prices = self.prices.get(cat, [])
            left = bisect.bisect_left(prices, lo) if lo is not None else 0
            right = bisect.bisect_right(prices, hi) if hi is not None else len(prices)
            total += max(0, right - left)
        return total

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "CatalogProfile":
        return cls(**json.loads(text))


def profile_metadata(metas: Iterable[Mapping[str, object]]) -> CatalogProfile:
    """Count a catalog's stored product metadata (``color_source`` "pixels" marks colours not from the CSV)."""
    products = priced = categorised = catalog_colors = 0
    categories: Counter[str] = Counter()
    colors: dict[str, Counter[str]] = {ALL: Counter()}
    prices: dict[str, list[float]] = {ALL: []}
    for meta in metas:
        products += 1
        raw = str(meta.get("category") or "")
        cat = category_of(raw) if raw else None
        key = cat or raw or "?"
        categorised += cat is not None
        categories[key] += 1
        family = color_family(str(meta.get("color") or "")) or "?"
        catalog_colors += bool(meta.get("color")) and meta.get("color_source", "catalog") == "catalog"
        for k in (ALL, key):
            colors.setdefault(k, Counter())[family] += 1
        price = meta.get("price")
        if isinstance(price, (int, float)):
            priced += 1
            for k in (ALL, key):
                prices.setdefault(k, []).append(float(price))
    return CatalogProfile(products, priced, categorised, catalog_colors, dict(categories),
                          {k: dict(v) for k, v in colors.items()}, {k: sorted(v) for k, v in prices.items()})


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


DETECTOR_VOTES = 5.0  # the detector's label counts as this many neighbours (times its confidence)
KIND_SHARE = 0.4  # the winning class needs this share of the votes, else the kind is unknown


def item_kind(neighbour_categories: Sequence[str], detected: str | None = None, detected_score: float = 0.0) -> list[str]:
    """The item's class, fused from its nearest catalog neighbours (visual and CLIP, one vote each) and the
    detector's label: [class], or [] when no class wins ``KIND_SHARE`` of the votes.

    Neither source alone is reliable: the detector's class is wrong on a fair share of held-out items, and
    a visual neighbour list can be dominated by look-alikes of another kind; CLIP neighbours add a second,
    differently-wrong opinion.
    """
    votes: Counter[str] = Counter()
    for raw in neighbour_categories:
        cat = category_of(raw) or raw
        if cat:
            votes[cat] += 1.0
    if detected:
        votes[category_of(detected) or detected] += DETECTOR_VOTES * max(0.0, min(1.0, detected_score))
    if not votes:
        return []
    best, n = votes.most_common(1)[0]
    return [best] if n >= KIND_SHARE * sum(votes.values()) else []
