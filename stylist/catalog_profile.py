"""What a catalog can satisfy: which metadata its products have, and how many there are per kind and colour.

A catalog without prices cannot honour "under 50"; one with no red skirts cannot honour "red skirt".
Filtering anyway returns an empty page, which tells the shopper nothing. ``CatalogProfile`` counts,
once per index, which metadata each product has and how many products there are per category and
colour family, so that ``stylist.relax`` can drop (or soften) the parts of a wish the catalog cannot meet.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from stylist.colors import color_family
from stylist.query import category_of
from stylist.store import PROFILE_KEY, CatalogStore

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


def store_profile(store: CatalogStore) -> CatalogProfile:
    """Count the store's metadata once and keep the profile in its collection metadata, so that searches
    read it instead of every product's metadata (~0.6 s per process on 11k products). An index build calls
    this when it has written everything."""
    profile = profile_metadata(store.all_metadata().values())
    store.set_models({PROFILE_KEY: profile.to_json()})
    return profile


def stored_profile(store: CatalogStore, count: int) -> CatalogProfile | None:
    """The profile the last build stored, if it describes ``count`` products (else: an older index, an
    unfinished build, or products removed since; None, and the caller counts)."""
    text = store.stored_profile()
    if not text:
        return None
    try:
        profile = CatalogProfile.from_json(text)
    except (ValueError, TypeError):
        return None
    return profile if profile.products == count else None


class ProfileCache:
    """A store's profile — the one its build stored, else counted on first use — recounted when its
    product count changes (thread-safe)."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self._lock = threading.Lock()
        self._profile: tuple[int, CatalogProfile] | None = None  # (product count it was made at, profile)

    def get(self) -> CatalogProfile:
        count = self.store.count()
        with self._lock:
            if self._profile is None or self._profile[0] != count:
                profile = stored_profile(self.store, count)
                if profile is None:
                    profile = profile_metadata(self.store.all_metadata().values())
                self._profile = (count, profile)
            return self._profile[1]
