"""Catalog CSV reading and writing, checked against the schema in stylist/schema.py.

Format: ``id,image`` required (image path relative to the CSV, or absolute); optional
``name,category,color,price,url,style_id``; any extra column is kept as metadata. Header names are
case-insensitive, a UTF-8 BOM is ignored and ``;`` or tab delimiters are detected from the header.

A shop's CSV is rarely clean, so reading is per row: ``read_catalog_rows`` returns the good items plus a
``Reject`` (line, id, reason) for each row it cannot use, and the caller decides (the index builder indexes
the good rows and writes the rejects to a CSV; ``read_catalog`` is the strict form for our own files).
"""
from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from stylist.errors import CatalogError
from stylist.schema import CATALOG_COLUMNS, CATALOG_OPTIONAL, CATALOG_REQUIRED

MAX_ID_CHARS = 256  # a product id longer than this is a broken row, not an id
MAX_FIELD_CHARS = 4096  # names, urls, paths: anything longer is a broken row (a stray quote swallowing lines)
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CatalogItem:
    """One product of a catalog. ``image`` is an absolute path once read; ``line`` is its CSV line."""

    id: str
    image: str
    name: str = ""
    category: str = ""
    color: str = ""
    price: float | None = None
    url: str = ""
    style_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Reject:
    """A catalog row that was not indexed, and why (in words an operator can act on)."""

    line: int
    id: str
    reason: str
    image: str = ""


@dataclass
class CatalogRows:
    """The usable items of a catalog CSV and the rows rejected on the way."""

    items: list[CatalogItem]
    rejects: list[Reject]
    delimiter: str = ","


def parse_price(raw: str) -> float | None:
    """A price as shops write it: "$1,299.00", "1.299,00 €", "12,5", "EUR 30" -> float; "" -> None.

    The last of ``,``/``.`` is the decimal mark when both appear; a lone separator followed by exactly
    three digits in groups ("1,299" / "1.299.000") is a thousands separator. Raises ValueError otherwise.
    """
    text = re.sub(r"[\s\u00a0\u202f]", "", raw)
    if not text:
        return None
    text = re.sub(r"^(?:[A-Z]{3}|[$€£¥₽₹])+|(?:[A-Z]{3}|[$€£¥₽₹])+$", "", text)
    if not re.fullmatch(r"[0-9][0-9.,]*", text):
        raise ValueError(f"price {raw!r} is not a number")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        if re.fullmatch(rf"[0-9]{{1,3}}(\{sep}[0-9]{{3}})+", text) and (sep == "," or text.count(".") > 1):
            text = text.replace(sep, "")
        elif text.count(sep) == 1:
            text = text.replace(sep, ".")
        else:
            raise ValueError(f"price {raw!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"price {raw!r} is not a number")
    return value


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column(name: str) -> str:
    """Schema columns match in any case ("ID", "Image"); extra columns keep their own spelling."""
    name = name.strip()
    return name.lower() if name.lower() in CATALOG_COLUMNS else name


def _records(fh, delimiter: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line, fields, error) per record; a record the csv module refuses is reported, not fatal."""
    reader = csv.reader(fh, delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, f"unreadable CSV record ({exc})"
            continue
        yield start, fields, ""


def _image_path(raw: str, folder: str) -> tuple[str | None, str]:
    """Absolute paths are taken as given; a relative one must stay inside the catalog's folder.

    Plain string path arithmetic (no ``resolve()``): a 100k-row catalog must not cost 100k realpath calls.
    """
    if os.path.isabs(raw):
        return os.path.normpath(raw), ""
    resolved = os.path.normpath(os.path.join(folder, raw))
    if not resolved.startswith(folder.rstrip(os.sep) + os.sep):
        return None, f"image path {raw!r} points outside the catalog folder {folder}"
    return resolved, ""


def _check_fields(row: dict[str, str]) -> str:
    if len(row["id"]) > MAX_ID_CHARS:
        return f"id is {len(row['id']):,} characters long (limit {MAX_ID_CHARS})"
    for key, value in row.items():
        if len(value) > MAX_FIELD_CHARS:
            return f"field {key!r} is {len(value):,} characters long (limit {MAX_FIELD_CHARS:,})"
        if "\ufffd" in value:
            return f"field {key!r} is not valid UTF-8"
    return ""


def read_catalog_rows(path: str | Path) -> CatalogRows:
    """Read a catalog CSV row by row; a file-level problem (missing file, no id/image column) raises CatalogError."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog {path} does not exist")
    folder = str(path.parent.resolve())
    csv.field_size_limit(1 << 30)  # huge fields become a per-row reject below, not a crash of the reader
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        delimiter = _sniff_delimiter(fh.readline())
        fh.seek(0)
        records = _records(fh, delimiter)
        first = next(records, None)
        header = [_column(h) for h in (first[1] or [])] if first else []
        missing = [c for c in CATALOG_REQUIRED if c not in header]
        if missing:
            raise CatalogError(f"{path}: missing required column(s) {', '.join(missing)} "
                               f"(header: {', '.join(header) or 'empty'})")
        items: list[CatalogItem] = []
        rejects: list[Reject] = []
        seen: dict[str, int] = {}
        for line, fields, error in records:
            if fields is not None and not any(f.strip() for f in fields):
                continue  # blank line
            item, reason = _item(fields, error, header, line, folder, seen)
            if item is None:
                rejects.append(Reject(line, _field(fields, header, "id")[:MAX_ID_CHARS], reason,
                                      _field(fields, header, "image")))
            else:
                seen[item.id] = line
                items.append(item)
    return CatalogRows(items, rejects, delimiter)


def _field(fields: list[str] | None, header: list[str], name: str) -> str:
    if not fields or name not in header or header.index(name) >= len(fields):
        return ""
    return fields[header.index(name)].strip()[:MAX_FIELD_CHARS]


def _item(fields: list[str] | None, error: str, header: list[str], line: int, folder: str,
          seen: dict[str, int]) -> tuple[CatalogItem | None, str]:
    """One record -> CatalogItem, or None and the reason."""
    if fields is None:
        return None, error
    if len(fields) > len(header):
        return None, f"{len(fields)} fields but the header has {len(header)} (an unquoted delimiter?)"
    row = {name: value.strip() for name, value in zip(header, fields)}
    row.update({name: "" for name in header[len(fields):]})
    if not row["id"]:
        return None, "empty id"
    problem = _check_fields(row)
    if problem:
        return None, problem
    if row["id"] in seen:
        return None, f"duplicate id {row['id']!r} (first on line {seen[row['id']]})"
    if not row["image"]:
        return None, f"empty image path for id {row['id']!r}"
    image, problem = _image_path(row["image"], folder)
    if image is None:
        return None, problem
    try:
        price = parse_price(row.get("price", ""))
    except ValueError as exc:
        return None, str(exc)
    return CatalogItem(
        id=row["id"], image=image, name=row.get("name", ""), category=row.get("category", ""),
        color=row.get("color", ""), price=price, url=row.get("url", ""), style_id=row.get("style_id", ""),
        extra={k: v for k, v in row.items() if k not in CATALOG_COLUMNS}, line=line,
    ), ""


def read_catalog(path: str | Path) -> list[CatalogItem]:
    """Read a catalog CSV that must be clean (our own files): the first bad row raises CatalogError."""
    rows = read_catalog_rows(path)
    if rows.rejects:
        bad = rows.rejects[0]
        raise CatalogError(f"{path}:{bad.line}: {bad.reason}")
    return rows.items


def write_rejects(rejects: Iterable[Reject], path: str | Path) -> Path:
    """The rejected rows as a CSV (line, id, image, reason), for the operator to fix and re-run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "id", "image", "reason"])
        writer.writerows([r.line, r.id, r.image, r.reason] for r in rejects)
    return path


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
