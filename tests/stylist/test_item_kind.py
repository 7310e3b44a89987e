"""What a searched item is for refining words: the photo's fused label, when the fusion is sure of it; and
the kinds a one-garment photo shows: that kind, with the runner-up when the fusion hesitated."""
from __future__ import annotations

import pytest

from stylist.item_kind import KIND_CONFIDENCE, RUNNER_UP_SHARE, item_kind, shown_kinds
from stylist.labels import FusedLabel


def _label(name: str, confidence: float, runner_up: str = "", second: float = 0.0) -> FusedLabel:
    return FusedLabel(name, confidence, "Handbags", name, "", runner_up=runner_up, runner_up_confidence=second)


def test_a_sure_fused_label_is_the_kind():
    assert item_kind(_label("Skirts", 0.9)) == ["Skirts"]
    assert item_kind(_label("Skirts", KIND_CONFIDENCE)) == ["Skirts"]  # the threshold itself is sure enough


def test_an_unsure_or_missing_label_prefers_no_kind():
    assert item_kind(_label("Skirts", KIND_CONFIDENCE - 0.01)) == []
    assert item_kind(_label("", 1.0)) == [] and item_kind(None) == []
    assert item_kind(_label("Skirts", 0.3), min_confidence=0.2) == ["Skirts"]


@pytest.mark.parametrize("first,second,shown", [
    (0.9, 0.05, ["Skirts"]),  # sure: its kind only
    (0.6, 0.6 * RUNNER_UP_SHARE + 0.01, ["Skirts", "Dresses"]),  # hesitated: the runner-up too
    (0.6, 0.6 * RUNNER_UP_SHARE - 0.01, ["Skirts"]),
    (KIND_CONFIDENCE - 0.01, KIND_CONFIDENCE - 0.02, []),  # unsure of everything: no kind at all
])
def test_a_one_garment_photo_shows_the_runner_up_only_when_the_fusion_hesitated(first, second, shown):
    assert shown_kinds(_label("Skirts", first, "Dresses", second)) == shown
    assert item_kind(_label("Skirts", first, "Dresses", second)) == shown[:1]  # refining words: one kind


def test_no_runner_up_shows_the_kind_alone():
    assert shown_kinds(_label("Skirts", 0.5)) == ["Skirts"]
    assert shown_kinds(None) == []
