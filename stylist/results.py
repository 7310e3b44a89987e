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


@dataclass(frozen=True)
class ParsedQuery:
    """What the shopper's words were understood as (shown back to them)."""

    text: str | None = None
    colors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    max_price: float | None = None
    min_price: float | None = None
    terms: str = ""  # the words left for CLIP once colours/categories/prices are parsed (may be the full text)

    def describe(self) -> str:
        """'Dresses · red · under 50' — a one-line summary for captions."""
        parts = [*self.categories, *self.colors]
        if self.max_price is not None:
            parts.append(f"under {self.max_price:g}")
        if self.min_price is not None:
            parts.append(f"over {self.min_price:g}")
        return " · ".join(parts)


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
        q = self.query
        return {
            "detection": self.detection,
            "query": {"text": q.text, "colors": q.colors, "categories": q.categories, "max_price": q.max_price},
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
