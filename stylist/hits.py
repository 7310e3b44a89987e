"""What a catalog query gives back (``Hit``) and asks with (``where_filter``): shared by the store that answers
and the candidate search that combines several answers (``merge_hits``), so neither owns the other's words."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from stylist.colors import color_family, family_members
from stylist.results import ParsedQuery


@dataclass(frozen=True)
class Hit:
    """One nearest neighbour: cosine similarity (1 - distance) and the stored metadata."""

    id: str
    similarity: float
    meta: dict


def where_filter(query: ParsedQuery | None, categories: Sequence[str], colors: bool) -> dict | None:
    """A Chroma ``where`` for the hard/structured wishes: category, colour family (when ``colors``), price,
    and the excluded categories and colour families ("no heels" must not fetch only heels)."""
    clauses: list[dict] = []
    if categories:
        clauses.append({"category": {"$in": list(categories)}})
    if query is not None:
        if colors and query.colors:
            names = sorted({m for c in query.colors for m in family_members(color_family(c) or c)})
            clauses.append({"color": {"$in": names or list(query.colors)}})
        if query.max_price is not None:
            clauses.append({"price": {"$lte": float(query.max_price)}})
        if query.min_price is not None:
            clauses.append({"price": {"$gte": float(query.min_price)}})
        if query.exclude_categories:
            clauses.append({"category": {"$nin": list(query.exclude_categories)}})
        if query.exclude_colors:
            names = sorted({m for c in query.exclude_colors for m in family_members(color_family(c) or c)})
            clauses.append({"color": {"$nin": names}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def merge_hits(*lists: list[Hit]) -> list[Hit]:
    """Hits of several queries, each product once (its first occurrence), in order."""
    seen: dict[str, Hit] = {}
    for hits in lists:
        for h in hits:
            seen.setdefault(h.id, h)
    return list(seen.values())


__all__ = ["Hit", "where_filter", "merge_hits"]
