"""What a catalog can satisfy, and the fixed-order relaxation of wishes it cannot."""
from __future__ import annotations

from stylist.catalog_profile import ALL, CatalogProfile, item_kind, profile_metadata, relax_query
from stylist.query import parse_query

NO_PRICES = [  # like Complete the Look: categories, colours from pixels, no prices
    *({"category": "Dresses", "color": "red", "color_source": "pixels"} for _ in range(12)),
    *({"category": "Dresses", "color": "navy", "color_source": "pixels"} for _ in range(5)),
    *({"category": "Skirts", "color": "black", "color_source": "pixels"} for _ in range(8)),
    *({"category": "Skirts", "color": "maroon", "color_source": "pixels"} for _ in range(3)),
]
PRICED = [{"category": "Sneakers", "color": "Navy Blue", "price": p} for p in (15.0, 30.0, 60.0)] + \
         [{"category": "Dresses", "color": "red", "price": 120.0}, {"category": "Socks", "color": "white"}]


def test_profile_counts_columns_categories_and_colour_families():
    p = profile_metadata(NO_PRICES)
    assert (p.products, p.priced, p.categorised, p.catalog_colors) == (28, 0, 28, 0)
    assert p.categories == {"Dresses": 17, "Skirts": 11}
    assert p.colors["Skirts"] == {"black": 8, "red": 3} and p.colors[ALL]["blue"] == 5
    q = profile_metadata(PRICED)
    assert q.has_prices and q.has_catalog_colors and q.categories["Shoes"] == 3 and q.categories["Socks"] == 1
    assert q.prices["Shoes"] == [15.0, 30.0, 60.0] and q.priced_between(["Shoes"], 20, 70) == 2
    assert q.priced_between([], None, 20) == 1 and q.count(["Shoes"], "blue") == 3
    assert CatalogProfile.from_json(q.to_json()) == q


def test_no_prices_are_relaxed_and_said():
    r = relax_query(parse_query("red dress under 50"), profile_metadata(NO_PRICES))
    assert r.query.max_price is None and r.query.colors == ["red"] and r.query.categories == ["Dresses"]
    assert r.query.relaxed == ["no prices in this catalog"] and r.color_is_filter
    assert r.query.explain() == "no prices in this catalog — showing Dresses · red"


def test_satisfiable_query_is_untouched():
    q = parse_query("navy sneakers under 40")
    r = relax_query(q, profile_metadata(PRICED), page=2)
    assert r.query == q and r.kind == ["Shoes"] and r.color_is_filter


def test_price_out_of_range_for_the_kind_is_dropped():
    r = relax_query(parse_query("sneakers over 100"), profile_metadata(PRICED))
    assert r.query.min_price is None and r.query.relaxed == ["nothing over 100 in Shoes"]


def test_missing_category_then_missing_colour():
    r = relax_query(parse_query("green watch"), profile_metadata(NO_PRICES))
    assert r.query.categories == [] and r.query.colors == [] and not r.color_is_filter
    assert r.query.relaxed == ["no Watches in this catalog", "no products in green in this catalog"]
    assert "watch" in r.query.terms and "green" in r.query.terms  # CLIP still hears the words


def test_refinement_keeps_the_items_kind_and_softens_a_thin_colour():
    p = profile_metadata(NO_PRICES)
    r = relax_query(parse_query("in red"), p, kind=["Skirts"], page=5)
    assert r.kind == ["Skirts"] and r.query.colors == ["red"] and not r.color_is_filter
    assert r.query.relaxed == ["only 3 Skirts in red — then other colours"]
    r = relax_query(parse_query("in red, but dresses"), p, kind=["Skirts"], page=5)  # own words win
    assert r.kind == ["Dresses"] and r.color_is_filter and r.query.relaxed == []
    r = relax_query(parse_query("in yellow"), p, kind=["Skirts"])
    assert r.query.colors == [] and r.query.relaxed == ["no Skirts in yellow in this catalog"]


def test_exclusions_that_leave_nothing_are_dropped():
    p = profile_metadata(NO_PRICES)
    r = relax_query(parse_query("not black"), p, kind=["Skirts"])
    assert r.query.exclude_colors == ["black"] and r.query.relaxed == []
    r = relax_query(parse_query("not black or red"), p, kind=["Skirts"])
    assert r.query.exclude_colors == [] and r.query.relaxed == ["nothing left after the exclusions"]


def test_item_kind_fuses_neighbours_and_detector():
    assert item_kind(["Skirts"] * 6 + ["Dresses"] * 4) == ["Skirts"]
    assert item_kind(["Sneakers", "Casual Shoes", "Heels", "Tshirts"]) == ["Shoes"]  # catalog labels map to classes
    assert item_kind(["Skirts"] * 3 + ["Dresses"] * 3 + ["Pants"] * 3 + ["Shorts"] * 3) == []  # no winner
    # a confident detection tips an even split; a weak one does not
    assert item_kind(["Skirts"] * 5 + ["Dresses"] * 5, "Dresses", 0.9) == ["Dresses"]
    assert item_kind(["Skirts"] * 6 + ["Dresses"] * 4, "Dresses", 0.2) == ["Skirts"]
    assert item_kind([], "Hats", 0.5) == ["Hats"] and item_kind([]) == []


def test_a_rare_item_kind_becomes_a_preference():
    p = profile_metadata(NO_PRICES)
    r = relax_query(parse_query("not navy"), p, kind=["Skirts"], page=20)
    assert r.kind == ["Skirts"] and not r.kind_is_filter
    assert r.query.relaxed == ["only 11 Skirts in this catalog — then other kinds"]
    assert relax_query(parse_query("skirts"), p, page=20).kind_is_filter  # a named kind stays a filter
