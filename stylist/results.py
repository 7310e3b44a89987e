"""The plain data the pipeline hands around: detections, parsed text queries, products and results."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Detection:
    """One detected item; ``box`` is (x0, y0, x1, y1) in pixels of the upright input image."""

    index: int
    label: str  # the class shown to the shopper (fused from the detector, embedder head and neighbours)
    score: float
    box: tuple[float, float, float, float]
    detector_label: str = ""  # the detector's own class, kept for debugging ("" = same as label)
    whole_photo: bool = False  # named with the whole photo as evidence too (it looked like one garment)


@dataclass(frozen=True)
class ParsedQuery:
    """What the shopper's words were understood as (shown back to them).

    ``relaxed`` lists, in words, the parts a catalog could not honour and that the search therefore
    dropped or softened ("no prices in this catalog"); the other fields then describe what was searched.
    """

    text: str | None = None
    colors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    max_price: float | None = None
    min_price: float | None = None
    terms: str = ""  # the words left for CLIP once colours/categories/prices are parsed (may be the full text)
    exclude_colors: list[str] = field(default_factory=list)  # "not black"
    exclude_categories: list[str] = field(default_factory=list)  # "no heels" (when shoes are not wanted at all)
    exclude_terms: str = ""  # negated words CLIP should avoid ("shoes, no heels" -> "heels")
    attributes: list[str] = field(default_factory=list)  # materials/patterns/styles recognised in the terms
    cheap: bool = False  # "cheap", "affordable": lower prices first
    relaxed: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """'Dresses · red · under 50 · not black' — a one-line summary for captions."""
        parts = [*self.categories, *self.colors]
        if self.min_price is not None and self.max_price is not None:
            parts.append(f"{self.min_price:g}–{self.max_price:g}")
        elif self.max_price is not None:
            parts.append(f"under {self.max_price:g}")
        elif self.min_price is not None:
            parts.append(f"over {self.min_price:g}")
        if self.cheap:
            parts.append("cheapest first")
        parts += [f"not {x}" for x in [*self.exclude_categories, *self.exclude_colors]]
        if self.exclude_terms:
            parts.append(f"not “{self.exclude_terms}”")
        return " · ".join(parts)

    def explain(self) -> str:
        """describe() preceded by what was relaxed: 'no prices in this catalog — showing Dresses · red'."""
        shown = self.describe() or "everything"
        return f"{'; '.join(self.relaxed)} — showing {shown}" if self.relaxed else self.describe()

    def query_json(self) -> dict:
        """The ``query`` object of the JSON output (CLI ``--json`` and API)."""
        return {"text": self.text, "colors": self.colors, "categories": self.categories,
                "min_price": self.min_price, "max_price": self.max_price, "cheap": self.cheap,
                "exclude_colors": self.exclude_colors, "exclude_categories": self.exclude_categories,
                "exclude_terms": self.exclude_terms, "attributes": self.attributes, "terms": self.terms,
                "relaxed": self.relaxed}


@dataclass(frozen=True)
class Product:
    """One search result: a product's stored index fields (see ``Product.from_meta``) and its score."""

    id: str
    score: float
    name: str = ""
    category: str = ""
    color: str = ""
    price: float | None = None
    image: str = ""
    url: str = ""

    @classmethod
    def from_meta(cls, id: str, score: float, meta: Mapping[str, object]) -> "Product":
        """A product from its stored index metadata (missing keys empty, a non-numeric price None)."""
        price = meta.get("price")
        return cls(id=id, score=float(score), name=str(meta.get("name", "")), category=str(meta.get("category", "")),
                   color=str(meta.get("color", "")), price=float(price) if isinstance(price, (int, float)) else None,
                   image=str(meta.get("image", "")), url=str(meta.get("url", "")))


@dataclass(frozen=True)
class ItemResult:
    """Products for one detected item (``detection`` None when the whole image or text alone was used)."""

    detection: int | None
    query: ParsedQuery
    products: list[Product]

    def to_json(self) -> dict:
        return {
            "detection": self.detection,
            "query": self.query.query_json(),
            "products": [
                {"id": p.id, "score": round(p.score, 4), "name": p.name, "category": p.category,
                 "color": p.color, "price": p.price, "image": p.image}
                for p in self.products
            ],
        }


def detection_json(d: Detection) -> dict:
    return {"index": d.index, "label": d.label, "detector_label": d.detector_label or d.label,
            "score": round(d.score, 4), "box": [round(v, 1) for v in d.box]}


__all__ = ["Detection", "ParsedQuery", "Product", "ItemResult", "detection_json", "asdict"]
