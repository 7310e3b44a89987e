"""Catalog CSV reading and writing, checked against the schema in stylist/schema.py.

Format: ``id,image`` required (image path relative to the CSV, or absolute); optional
``name,category,color,price,url,style_id``; any extra column is kept as metadata.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from stylist.errors import CatalogError
from stylist.schema import CATALOG_COLUMNS, CATALOG_OPTIONAL, CATALOG_REQUIRED


@dataclass(frozen=True)
class CatalogItem:
    """One product of a catalog. ``image`` is an absolute path once read."""

    id: str
    image: str
    name: str = ""
    category: str = ""
    color: str = ""
    price: float | None = None
    url: str = ""
    style_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _parse_price(raw: str, line: int, path: Path) -> float | None:
    raw = raw.strip().lstrip("$€£").replace(",", "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise CatalogError(f"{path}:{line}: price {raw!r} is not a number") from exc


def read_catalog(path: str | Path) -> list[CatalogItem]:
    """Read and validate a catalog CSV; image paths are resolved relative to the CSV's folder."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in CATALOG_REQUIRED if c not in header]
        if missing:
            raise CatalogError(f"{path}: missing required column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'})")
        items: list[CatalogItem] = []
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            if not row["id"]:
                raise CatalogError(f"{path}:{line}: empty id")
            if row["id"] in seen:
                raise CatalogError(f"{path}:{line}: duplicate id {row['id']!r}")
            if not row["image"]:
                raise CatalogError(f"{path}:{line}: empty image path for id {row['id']!r}")
            seen.add(row["id"])
            image = Path(row["image"])
            if not image.is_absolute():
                image = (path.parent / image).resolve()
            items.append(CatalogItem(
                id=row["id"], image=str(image),
                name=row.get("name", ""), category=row.get("category", ""), color=row.get("color", ""),
                price=_parse_price(row.get("price", ""), line, path), url=row.get("url", ""),
                style_id=row.get("style_id", ""),
                extra={k: v for k, v in row.items() if k not in CATALOG_COLUMNS},
            ))
    return items


def write_catalog(items: Iterable[CatalogItem], path: str | Path, relative: bool = True) -> Path:
    """Write items as a catalog CSV; with ``relative`` image paths are stored relative to the CSV when possible."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    items = list(items)
    extra_cols = sorted({k for it in items for k in it.extra})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CATALOG_REQUIRED, *CATALOG_OPTIONAL, *extra_cols])
        for it in items:
            image = Path(it.image)
            if relative and image.is_absolute():
                try:
                    image = image.resolve().relative_to(path.parent.resolve())
                except ValueError:
                    pass
            price = "" if it.price is None else f"{it.price:g}"
            writer.writerow([it.id, str(image), it.name, it.category, it.color, price, it.url, it.style_id,
                             *(it.extra.get(c, "") for c in extra_cols)])
    return path
