"""What a searched item is: its neighbours' categories and the detector's label, fused."""
from __future__ import annotations

from stylist.item_kind import item_kind


def test_item_kind_fuses_neighbours_and_detector():
    assert item_kind(["Skirts"] * 6 + ["Dresses"] * 4) == ["Skirts"]
    assert item_kind(["Sneakers", "Casual Shoes", "Heels", "Tshirts"]) == ["Shoes"]  # catalog labels map to classes
    assert item_kind(["Skirts"] * 3 + ["Dresses"] * 3 + ["Pants"] * 3 + ["Shorts"] * 3) == []  # no winner
    # a confident detection tips an even split; a weak one does not
    assert item_kind(["Skirts"] * 5 + ["Dresses"] * 5, "Dresses", 0.9) == ["Dresses"]
    assert item_kind(["Skirts"] * 6 + ["Dresses"] * 4, "Dresses", 0.2) == ["Skirts"]
    assert item_kind([], "Hats", 0.5) == ["Hats"] and item_kind([]) == []
