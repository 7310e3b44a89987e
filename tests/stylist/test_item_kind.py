"""What a searched item is for refining words: the photo's fused label, when the fusion is sure of it."""
from __future__ import annotations

from stylist.item_kind import KIND_CONFIDENCE, item_kind
from stylist.labels import FusedLabel


def _label(name: str, confidence: float) -> FusedLabel:
    return FusedLabel(name, confidence, "Handbags", name, "")


def test_a_sure_fused_label_is_the_kind():
    assert item_kind(_label("Skirts", 0.9)) == ["Skirts"]
    assert item_kind(_label("Skirts", KIND_CONFIDENCE)) == ["Skirts"]  # the threshold itself is sure enough


def test_an_unsure_or_missing_label_prefers_no_kind():
    assert item_kind(_label("Skirts", KIND_CONFIDENCE - 0.01)) == []
    assert item_kind(_label("", 1.0)) == [] and item_kind(None) == []
    assert item_kind(_label("Skirts", 0.3), min_confidence=0.2) == ["Skirts"]
