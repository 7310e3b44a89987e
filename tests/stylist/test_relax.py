"""The last resort of relaxation: a query loosened step by step until the candidates can meet it."""
from __future__ import annotations

import numpy as np

from stylist.query import parse_query
from stylist.relax import looser_queries, refines, rerank_or_loosen


def test_refining_words_are_the_ones_that_change_what_is_shown():
    assert refines(parse_query("in red")) and refines(parse_query("under 50")) and refines(parse_query("not black"))
    assert refines(parse_query("cheap")) and refines(parse_query("dress"))
    assert not refines(parse_query("leather")) and not refines(parse_query(None))


def test_looser_queries_drop_price_then_kind_then_colour_then_exclusions():
    q = parse_query("red dress under 50, not black")
    steps = looser_queries(q)
    assert [d for _, d in steps] == ["the price limit", "the kind", "the colour", "the exclusions"]
    last = steps[-1][0]
    assert (last.max_price, last.categories, last.colors, last.exclude_colors) == (None, [], [], [])
    assert steps[0][0].categories == ["Dresses"] and steps[1][0].colors == ["red"]
    assert looser_queries(parse_query("leather")) == []


def test_rerank_or_loosen_says_what_it_dropped():
    metas = [{"category": "Dresses", "color": "red", "price": 80.0}, {"category": "Skirts", "color": "red", "price": 30.0}]
    visual = np.array([0.9, 0.8])
    # under 50 leaves only the skirt, which is no dress: dropping the price limit brings back the dress
    ranked, query = rerank_or_loosen(metas, visual, None, parse_query("red dress under 50"), 0.5, True, ())
    assert list(ranked.order) == [0] and query.max_price is None and query.categories == ["Dresses"]
    assert query.relaxed == ["nothing matched with the price limit"]
    # something passes: nothing is loosened
    ranked, query = rerank_or_loosen(metas, visual, None, parse_query("red skirt under 50"), 0.5, True, ())
    assert list(ranked.order) == [1] and query.relaxed == [] and query.max_price == 50
    # without filters nothing is dropped either
    ranked, query = rerank_or_loosen(metas, visual, None, parse_query("red dress under 10"), 0.5, False, ())
    assert list(ranked.order) == [0, 1] and query.relaxed == []
