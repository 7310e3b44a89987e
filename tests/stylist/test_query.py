"""Text understanding: colours with synonyms, categories to detection classes, price limits, CLIP terms."""
from __future__ import annotations

import pytest

from stylist.query import category_of, parse_query
from stylist.schema import CLASSES


@pytest.mark.parametrize("text,colors,categories,lo,hi", [
    ("crimson sneakers under $50", ["red"], ["Shoes"], None, 50.0),
    ("in black", ["black"], [], None, None),
    ("shoes under 30", [], ["Shoes"], None, 30.0),
    ("leather bag below $30", [], ["Handbags"], None, 30.0),
    ("tee less than 20", [], ["Shirts & Tops"], None, 20.0),
    ("jeans over 100", [], ["Pants"], 100.0, None),
    ("navy blue jeans between 20 and 50", ["navy"], ["Pants"], 20.0, 50.0),
    ("red dress 20-50", ["red"], ["Dresses"], 20.0, 50.0),
    ("sunglasses from 10 to 30", [], ["Sunglasses"], 10.0, 30.0),
    ("Off-White T-shirt max 45.5", ["white"], ["Shirts & Tops"], None, 45.5),
    ("a scarf and a watch", [], ["Scarves & Shawls", "Watches"], None, None),
    ("cheaper than 25 euros", [], [], None, 25.0),
    ("grey melange hoodie", ["grey"], ["Shirts & Tops"], None, None),
])
def test_parse_query(text, colors, categories, lo, hi):
    q = parse_query(text)
    assert q.colors == colors
    assert q.categories == categories
    assert q.min_price == lo and q.max_price == hi
    assert q.text == text


def test_terms_keep_words_for_clip_and_drop_prices_and_fillers():
    q = parse_query("show me crimson leather sneakers under $50")
    assert q.terms == "crimson leather sneakers"
    assert parse_query("under 50").terms == ""


def test_empty_and_none():
    assert parse_query(None).text is None and parse_query("   ").colors == []


def test_jeans_are_pants_not_skirts():  # a known failure of fashion search: jeans returning skirts
    assert parse_query("jeans").categories == ["Pants"]


@pytest.mark.parametrize("label,cls", [
    ("Casual Shoes", "Shoes"), ("Tshirts", "Shirts & Tops"), ("Sneakers", "Shoes"), ("Track Pants", "Pants"),
    ("Necklace and Chains", "Jewelry"), ("Coats & Jackets", "Coats & Jackets"), ("Handbags", "Handbags"),
    ("Flip Flops", "Shoes"), ("Socks", None),
])
def test_category_of_catalog_labels(label, cls):
    assert category_of(label) == cls


def test_every_class_is_reachable_by_its_own_name():
    assert all(category_of(c) == c for c in CLASSES)


def test_describe_summarises_what_was_understood():
    assert parse_query("red dress under 50").describe() == "Dresses · red · under 50"


# --- prices in more forms ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,lo,hi", [
    ("under $50", None, 50.0), ("50 or less", None, 50.0), ("$50 or under", None, 50.0),
    ("between 20 and 40", 20.0, 40.0), ("€30", None, 30.0), ("30 euros", None, 30.0),
    ("under $1,299", None, 1299.0), ("1.299,00 €", None, 1299.0), ("12,50 €", None, 12.5),
    ("under 2k", None, 2000.0), ("50+", 50.0, None), ("100 or more", 100.0, None),
    ("no more than 30 euros", None, 30.0), ("at least £15", 15.0, None), ("from 10 to 30 dollars", 10.0, 30.0),
])
def test_price_forms(text, lo, hi):
    q = parse_query(text)
    assert (q.min_price, q.max_price) == (lo, hi)
    assert q.terms == "" and not q.colors and not q.categories


def test_cheap_is_an_order_not_a_term():
    q = parse_query("cheap red shoes")
    assert q.cheap and q.max_price is None and q.terms == "red shoes" and q.colors == ["red"]
    assert not parse_query("red shoes").cheap


# --- negation --------------------------------------------------------------------------------------------
def test_not_a_colour_excludes_it():
    q = parse_query("not red")
    assert q.colors == [] and q.exclude_colors == ["red"] and q.terms == ""
    q = parse_query("a dress, anything but black")
    assert q.exclude_colors == ["black"] and q.categories == ["Dresses"] and "black" not in q.terms


def test_a_negated_class_excludes_it_a_negated_sub_kind_only_the_word():
    assert parse_query("not shoes").exclude_categories == ["Shoes"]
    assert parse_query("no bags or dresses").exclude_categories == ["Handbags", "Dresses"]
    q = parse_query("no heels")  # flats and sneakers are still shoes
    assert q.exclude_categories == [] and q.exclude_terms == "heels" and q.categories == []
    q = parse_query("no jeans, no boots")
    assert q.exclude_categories == [] and q.exclude_terms == "jeans boots"


def test_the_negation_scope_ends_at_another_kind():
    q = parse_query("not black or grey shoes")
    assert q.exclude_colors == ["black", "grey"] and q.categories == ["Shoes"] and q.exclude_categories == []


def test_wanted_and_negated_kind_keeps_the_kind_and_avoids_the_word():
    q = parse_query("shoes, no heels")
    assert q.categories == ["Shoes"] and q.exclude_categories == [] and q.exclude_terms == "heels"


def test_negated_material_leaves_the_terms():
    q = parse_query("bag without leather")
    assert q.exclude_terms == "leather" and q.terms == "bag" and q.attributes == []


def test_instead_of_negates_the_old_kind():
    q = parse_query("red shoes instead of a dress")
    assert q.categories == ["Shoes"] and q.exclude_categories == ["Dresses"] and q.colors == ["red"]


# --- numbers, kinds, materials ---------------------------------------------------------------------------
def test_numbers_that_are_not_prices_or_categories():
    q = parse_query("top 10 dresses")
    assert q.categories == ["Dresses"] and q.max_price is None and q.min_price is None
    q = parse_query("size 8 boots")
    assert q.categories == ["Shoes"] and q.max_price is None and q.min_price is None


def test_a_category_word_changes_the_kind():
    q = parse_query("in red, but shoes")
    assert q.colors == ["red"] and q.categories == ["Shoes"]


@pytest.mark.parametrize("word", ["leather", "striped", "denim", "floral", "sleeveless"])
def test_materials_patterns_styles_go_to_clip(word):
    q = parse_query(f"{word} dress")
    assert q.attributes == [word] and word in q.terms.split()
    assert q.colors == [] and q.categories == ["Dresses"]


def test_json_query_carries_min_price_and_relaxed():
    q = parse_query("dress between 20 and 40").query_json()
    assert q["min_price"] == 20.0 and q["max_price"] == 40.0 and q["relaxed"] == []


def test_describe_names_exclusions_and_ranges():
    assert parse_query("shoes between 20 and 40, not black").describe() == "Shoes · 20–40 · not black"
