"""The colour tuning script's readout of an index's stored pixel colours."""
from __future__ import annotations

from types import SimpleNamespace

from training.tune_colour import stored_colours


def test_stored_colours_agreement_confusions_and_confidence_bands():
    metas = {"a": {"color": "navy", "color_confidence": 0.95}, "b": {"color": "black", "color_confidence": 0.92},
             "c": {"color": "red", "color_confidence": 0.5}, "d": {"color": "maroon", "color_confidence": 0.45},
             "x": {"color": "red", "color_confidence": 0.99}}  # not in the truth: left out
    index = SimpleNamespace(store=SimpleNamespace(all_metadata=lambda: metas))
    truth = {"a": "blue", "b": "blue", "c": "red", "d": "pink"}
    got = stored_colours(index, truth)
    assert got["agreement"] == 0.5  # navy -> blue and red are right; black for blue and maroon (red) for pink not
    assert got["per_family"] == {"blue": (2, 0.5), "pink": (1, 0.0), "red": (1, 1.0)}
    assert got["confusions"] == {"blue->black": 1, "pink->red": 1}
    assert got["by_confidence"] == {"0.4-0.6": (2, 0.5), "0.9-1.0": (2, 0.5)}
