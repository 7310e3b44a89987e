"""What a searched item is, for refining words: the photo's fused label (stylist.labels), when it is sure.

A refinement such as "in red" on a photographed black skirt should show red skirts, so the search needs
the item's kind even when the shopper does not name it. The kind is decided once, when the photo arrives,
by the same fusion that names the item's button; a tap only reads it.
"""
from __future__ import annotations

from stylist.labels import FusedLabel

KIND_CONFIDENCE = 0.4  # below this fused probability the kind is unknown: no class is preferred


def item_kind(fused: FusedLabel | None, min_confidence: float = KIND_CONFIDENCE) -> list[str]:
    """[the fused class] when the fusion gives it at least ``min_confidence``, else [] (unsure, or no label)."""
    if fused is None or not fused.label or fused.confidence < min_confidence:
        return []
    return [fused.label]


__all__ = ["item_kind", "KIND_CONFIDENCE"]
