"""The demo's numbers: on held-out query photos, is the top k of the right kind, and do "in red" / "under 30" work?

Each query photo is searched three times (no words, "in <colour>", "under <price>"), through the same
``Stylist.search_image`` a shopper's photo takes (the best detected item, or the whole photo when
nothing is detected). ``summarize`` is pure: it turns those results into shares anyone can recount.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from stylist.catalog import CatalogItem
from stylist.colors import color_family
from stylist.results import Product


@dataclass(frozen=True)
class QueryOutcome:
    """One query photo's true category and its top-k results without words, with the colour, with the price."""

    category: str
    plain: Sequence[Product]
    colored: Sequence[Product]
    priced: Sequence[Product]


@dataclass(frozen=True)
class RefinementReport:
    """Shares over all top-k slots of all queries (0–1), and query counts."""

    queries: int
    top: int
    color: str
    max_price: float
    category_share: float  # top-k results in the query's own category
    any_right: int  # queries with at least one of their category in the top k
    majority_right: int  # queries whose top k are mostly of their category
    all_right: int  # queries whose top k are all of their category
    color_before: float  # results of the asked colour family, without words
    color_after: float  # ... with "in <colour>"
    color_category_share: float  # with "in <colour>", results still in the query's category
    price_before: float  # results under the price, without words
    price_after: float  # ... with "under <price>"
    price_category_share: float

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line."""
        n, k = self.queries, self.top
        return [
            f"{n} held-out query photos (not in the catalog), top {k} each:",
            f"  right category: {self.category_share:.0%} of results; queries with at least one right "
            f"{self.any_right}/{n}, mostly right {self.majority_right}/{n}, all {k} right {self.all_right}/{n}",
            f'  "in {self.color}": {self.color}-family results {self.color_before:.0%} -> {self.color_after:.0%} '
            f"(right category {self.color_category_share:.0%})",
            f'  "under {self.max_price:g}": results under {self.max_price:g} {self.price_before:.0%} -> '
            f"{self.price_after:.0%} (right category {self.price_category_share:.0%})",
        ]


def _share(groups: Sequence[Sequence[Product]], keep) -> float:
    slots = [p for g in groups for p in g]
    return sum(1 for p in slots if keep(p)) / len(slots) if slots else float("nan")


def _category_share(outcomes: Sequence[QueryOutcome], which: str) -> float:
    slots = [(o.category, p) for o in outcomes for p in getattr(o, which)]
    return sum(1 for cat, p in slots if p.category == cat) / len(slots) if slots else float("nan")


def summarize(outcomes: Sequence[QueryOutcome], top: int, color: str, max_price: float) -> RefinementReport:
    """Count category matches, colour-family and price shares before and after the words."""
    right = [sum(p.category == o.category for p in o.plain) for o in outcomes]
    family = color_family(color)

    def is_color(p: Product) -> bool:
        return color_family(p.color) == family

    def is_cheap(p: Product) -> bool:
        return p.price is not None and p.price < max_price

    return RefinementReport(
        queries=len(outcomes), top=top, color=color, max_price=max_price,
        category_share=_category_share(outcomes, "plain"),
        any_right=sum(r > 0 for r in right), majority_right=sum(r * 2 > top for r in right), all_right=sum(r == top for r in right),
        color_before=_share([o.plain for o in outcomes], is_color),
        color_after=_share([o.colored for o in outcomes], is_color),
        color_category_share=_category_share(outcomes, "colored"),
        price_before=_share([o.plain for o in outcomes], is_cheap),
        price_after=_share([o.priced for o in outcomes], is_cheap),
        price_category_share=_category_share(outcomes, "priced"),
    )


def measure_queries(stylist, queries: Sequence[CatalogItem], top: int = 5, color: str = "red",
                    max_price: float = 30) -> RefinementReport:
    """Search every query photo plain, "in <color>" and "under <max_price>"; summarize the top ``top``."""
    outcomes = []
    for q in queries:
        img = stylist.load_image(q.image)
        runs = [stylist.search_image(img, None, text, top)[1][0].products
                for text in (None, f"in {color}", f"under {max_price:g}")]
        outcomes.append(QueryOutcome(q.category, *runs))
    return summarize(outcomes, top, color, max_price)
