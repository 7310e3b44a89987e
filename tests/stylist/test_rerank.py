"""Pure ranking: fusion on the visual scale, hard price/category filters, colour boosts."""
from __future__ import annotations

import numpy as np

from stylist.query import parse_query
from stylist.rerank import fuse, passes_filters, rerank

METAS = [
    {"category": "Shoes", "color": "black", "price": 20.0},
    {"category": "Shoes", "color": "navy", "price": 80.0},
    {"category": "Dresses", "color": "red", "price": 30.0},
    {"category": "Shoes", "color": "crimson", "price": 45.0},  # a "Sneakers" row: mapped to Shoes at index time
    {"category": "Shoes", "color": "yellow"},
]
VISUAL = np.array([0.95, 0.90, 0.85, 0.80, 0.75])


def test_no_text_keeps_visual_order():
    r = rerank(METAS, VISUAL, None, parse_query(None))
    assert r.order.tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(r.scores, VISUAL)


def test_clip_can_reorder_and_weight_controls_it():
    clip = np.array([0.20, 0.21, 0.22, 0.23, 0.35])  # narrow CLIP band: item 4 clearly best for the text
    assert rerank(METAS, VISUAL, clip, None, text_weight=0.0, use_filters=False).order[0] == 0
    assert rerank(METAS, VISUAL, clip, None, text_weight=0.8, use_filters=False).order[0] == 4


def test_fuse_maps_clip_onto_visual_scale():
    fused = fuse(VISUAL, np.array([0.2, 0.2, 0.2, 0.2, 0.3]), 0.5)
    assert fused.min() > 0.5 and fused.max() < 1.1  # not dragged down to CLIP's ~0.2 range
    assert np.allclose(fuse(None, np.array([0.1, 0.3]), 0.5), [0.1, 0.3])


def test_price_filter_drops_unpriced_and_out_of_range():
    r = rerank(METAS, VISUAL, None, parse_query("under 40"))
    assert r.order.tolist() == [0, 2]
    r = rerank(METAS, VISUAL, None, parse_query("between 25 and 50"))
    assert r.order.tolist() == [2, 3]


def test_category_filter_keeps_the_named_class():
    r = rerank(METAS, VISUAL, None, parse_query("shoes"))
    assert r.order.tolist() == [0, 1, 3, 4]  # the dress is dropped


def test_colour_boost_puts_family_first_with_near_families_next():
    r = rerank(METAS, VISUAL, None, parse_query("in red"))
    assert set(r.order[:2].tolist()) == {2, 3}  # red and crimson first
    r = rerank(METAS, VISUAL, None, parse_query("navy"))
    assert r.order[0] == 1 and r.order[1] == 0  # navy, then black (near family) before the rest


def test_without_filters_nothing_is_dropped_or_boosted():
    r = rerank(METAS, VISUAL, None, parse_query("red shoes under 10"), use_filters=False)
    assert r.order.tolist() == [0, 1, 2, 3, 4]


def test_passes_filters_and_empty_input():
    assert passes_filters({"price": 10.0, "category": "Shoes"}, parse_query("shoes under 20"))
    assert not passes_filters({"category": "Shoes"}, parse_query("under 20"))
    assert rerank([], None, np.zeros(0), None).order.size == 0


def test_preferred_kind_outranks_other_kinds_of_the_wanted_colour():
    metas = [{"category": "Dresses", "color": "blue"}, {"category": "Shoes", "color": "blue"},
             {"category": "Shoes", "color": "red"}]
    visual = np.array([0.94, 0.95, 0.99])  # the blue dress is almost as close as the blue shoe
    assert rerank(metas, visual, None, parse_query("in blue")).order.tolist()[0] == 1
    r = rerank(metas, visual, None, parse_query("in blue"), prefer_categories=["Dresses"])
    assert r.order.tolist()[:2] == [0, 1]  # a soft preference: enough to flip near ties
