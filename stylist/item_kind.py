"""What a searched item is: the photo's fused label (stylist.labels), when it is sure, and the kinds its
one-garment photo may show.

A refinement such as "in red" on a photographed black skirt should show red skirts, so the search needs
the item's kind even when the shopper does not name it. The kind is decided once, when the photo arrives,
by the same fusion that names the item's button; a tap only reads it.
"""
from __future__ import annotations

from stylist.labels import FusedLabel

KIND_CONFIDENCE = 0.4  # below this fused probability the kind is unknown: no class is preferred
# A one-garment photo shows products of its kind (stylist.candidates); of the runner-up class too when the
# fusion found it at least this share as probable as its first choice. On the val split (200 catalogue
# products composited onto real floors and beds, 250 real photos; training.study_kindgate) the exact
# product's Recall@10 rose 0.765 -> 0.785 (all that showing every kind would give) and real photos' top-5
# majority class went 0.884 -> 0.880; any share from 0.25 to 0.40 measured the same, 0.45 gained less.
RUNNER_UP_SHARE = 0.3


def item_kind(fused: FusedLabel | None, min_confidence: float = KIND_CONFIDENCE) -> list[str]:
    """[the fused class] when the fusion gives it at least ``min_confidence``, else [] (unsure, or no label)."""
    if fused is None or not fused.label or fused.confidence < min_confidence:
        return []
    return [fused.label]


def shown_kinds(fused: FusedLabel | None, min_confidence: float = KIND_CONFIDENCE,
                share: float | None = None) -> list[str]:
    """The kinds a one-garment photo's item shows: ``item_kind``, plus the fusion's runner-up class when its
    probability is at least ``share`` (default RUNNER_UP_SHARE) of the first's (the fusion hesitated between
    the two); [] when unsure."""
    share = RUNNER_UP_SHARE if share is None else share
    kind = item_kind(fused, min_confidence)
    if kind and fused is not None and fused.runner_up and fused.runner_up_confidence >= share * fused.confidence:
        return kind + [fused.runner_up]
    return kind


__all__ = ["item_kind", "shown_kinds", "KIND_CONFIDENCE", "RUNNER_UP_SHARE"]
