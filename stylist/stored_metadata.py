"""A product's metadata as the index stores it: only the keys search reads, typed, with what can be
restored on reading left out (every stored key costs a sqlite row plus index entries per product)."""
from __future__ import annotations

from typing import Mapping

from stylist.schema import META_KEYS, NUMERIC_META_KEYS


def clean_metadata(meta: Mapping[str, object]) -> dict:
    """Only META_KEYS; strings for text, floats for NUMERIC_META_KEYS (price, colour confidence). Unknown
    values are left out (Chroma stores no None, and every stored key costs a row plus index entries on
    disk: readers use ``meta.get(key, "")``)."""
    out: dict[str, object] = {}
    for key in META_KEYS:
        value = meta.get(key)
        if value is None or value == "":
            continue
        out[key] = float(value) if key in NUMERIC_META_KEYS else str(value)  # type: ignore[arg-type]
    return out


def _color_source(meta: Mapping[str, object]) -> str:
    """What ``color_source`` is when it is not stored: a confidence is stored only for colours read from the
    pixels, so its presence says "pixels", its absence "catalog"."""
    return "pixels" if "color_confidence" in meta else "catalog"


def pack_metadata(meta: dict) -> dict:
    """The stored form: ``color_source`` left out where ``_color_source`` restores it (a metadata row less
    per product: ≈ 1 MB of sqlite rows and index entries per 11k products)."""
    if meta.get("color_source") == _color_source(meta):
        meta = {k: v for k, v in meta.items() if k != "color_source"}
    return meta


def unpack_metadata(meta: Mapping[str, object] | None) -> dict:
    """The metadata as written (``pack_metadata`` undone)."""
    out = dict(meta or {})
    if "color_source" not in out:
        out["color_source"] = _color_source(out)
    return out
