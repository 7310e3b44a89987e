"""Colour vocabulary: synonyms and families, and the colour of a product from its own pixels."""
from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from stylist.colors import COLORS, FAMILIES, canonical_color, color_family, color_match, dominant_color, family_members

from tests.helpers.catalog import COLORS as SWATCHES, draw_product


@pytest.mark.parametrize("word,canon,family", [
    ("crimson", "red", "red"), ("Navy Blue", "navy", "blue"), ("navy", "navy", "blue"), ("Grey Melange", "grey", "grey"),
    ("gray", "grey", "grey"), ("Off White", "white", "white"), ("maroon", "maroon", "red"), ("Turquoise Blue", "turquoise", "blue"),
    ("fuchsia", "magenta", "pink"), ("Coffee Brown", "brown", "brown"), ("camel", "tan", "brown"), ("Skin", "beige", "beige"),
])
def test_synonyms_map_to_canonical_names_and_families(word, canon, family):
    assert canonical_color(word) == canon
    assert color_family(word) == family


def test_non_colours_are_none():
    assert canonical_color("leather") is None and color_family("") is None and color_family("dress") is None


def test_every_name_has_a_family_and_members_round_trip():
    assert set(COLORS.values()) == set(FAMILIES)
    assert "navy" in family_members("blue") and "blue" in family_members("blue")
    assert all(color_family(m) == "red" for m in family_members("red"))


def test_color_match_exact_near_and_miss():
    assert color_match("navy", ["blue"]) == 1.0
    assert color_match("black", ["navy"]) == 0.5  # commonly confused: partial credit, not a miss
    assert color_match("yellow", ["blue"]) == 0.0
    assert color_match("", ["blue"]) == 0.0


@pytest.mark.parametrize("name", ["red", "blue", "green", "black", "yellow", "pink"])
@pytest.mark.parametrize("category", ["Shoes", "Dresses", "Handbags"])
def test_dominant_color_ignores_white_background(name, category):
    img = draw_product(category, SWATCHES[name])
    assert color_family(dominant_color(img)) == name


def test_dominant_color_ignores_a_uniform_coloured_backdrop():
    img = Image.new("RGB", (80, 80), (40, 160, 60))  # green backdrop
    img.paste((210, 30, 30), (25, 20, 55, 70))  # red product
    assert dominant_color(img) == "red"


def test_dominant_color_navy_is_not_black():
    assert color_family(dominant_color(draw_product("Pants", (25, 35, 95)))) == "blue"


def test_dominant_color_white_product_on_white_and_grayscale():
    white = Image.new("RGB", (60, 60), (255, 255, 255))
    assert dominant_color(white) == "white"
    gray = Image.fromarray(np.full((60, 60), 128, np.uint8)).convert("RGB")
    gray.paste((255, 255, 255), (0, 0, 60, 8))
    assert dominant_color(gray) in ("grey",)


def test_dominant_color_is_in_the_parser_vocabulary():
    rng = np.random.default_rng(0)
    for _ in range(20):
        img = Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
        assert dominant_color(img) in COLORS
