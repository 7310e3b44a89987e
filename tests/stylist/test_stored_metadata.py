"""The stored form of a product's metadata: schema keys only, typed, and what reading restores left out."""
from __future__ import annotations

from stylist.stored_metadata import clean_metadata, pack_metadata, unpack_metadata


def test_clean_metadata_only_schema_keys():
    m = clean_metadata({"name": None, "url": "", "price": "12.5", "color": "red", "extra": "x"})
    assert m == {"price": 12.5, "color": "red"}


def test_metadata_packing_round_trips():
    for meta in ({"color": "red", "color_source": "pixels", "color_confidence": 0.8},
                 {"color": "red", "color_source": "catalog"}, {"color": "red", "color_source": "pixels"},
                 {"color": "red", "color_source": "catalog", "color_confidence": 0.5}):
        assert unpack_metadata(pack_metadata(meta)) == meta
    assert "color_source" not in pack_metadata({"color": "red", "color_source": "pixels", "color_confidence": 0.8})
