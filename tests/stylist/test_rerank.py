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


def test_excluded_colours_and_categories_are_dropped():
    r = rerank(METAS, VISUAL, None, parse_query("not black"))
    assert r.order.tolist() == [1, 2, 3, 4]
    r = rerank(METAS, VISUAL, None, parse_query("not red, no dresses"))  # crimson is red; the dress goes too
    assert r.order.tolist() == [0, 1, 4]


def test_cheap_puts_lower_prices_first():
    flat = np.array([0.9, 0.9, 0.9, 0.9, 0.9]) + np.array([0.0, 0.001, 0.002, 0.003, 0.004])
    r = rerank(METAS, flat, None, parse_query("cheap"))
    assert r.order.tolist() == [0, 2, 3, 1, 4]  # 20, 30, 45, 80, then the unpriced one
    assert rerank(METAS, flat, None, parse_query("shoes")).order.tolist()[0] == 4  # without "cheap": visual


def test_surer_pixel_colours_rank_first_among_matches():
    metas = [{"category": "Shoes", "color": "red", "color_confidence": 0.8},
             {"category": "Shoes", "color": "red", "color_confidence": 0.95},
             {"category": "Shoes", "color": "black", "color_confidence": 0.9}]
    visual = np.array([0.905, 0.90, 0.95])
    assert rerank(metas, visual, None, parse_query("in red")).order.tolist() == [1, 0, 2]
    no_conf = [{k: v for k, v in m.items() if k != "color_confidence"} for m in metas]
    assert rerank(no_conf, visual, None, parse_query("in red")).order.tolist() == [0, 1, 2]  # catalog colours: visual


def test_clip_evidence_reorders_only_pixel_colours():
    metas = [{"category": "Shoes", "color": "red", "color_confidence": 0.6},
             {"category": "Shoes", "color": "red", "color_confidence": 0.6},
             {"category": "Shoes", "color": "red"}]  # a catalog colour: CLIP's opinion does not matter
    visual = np.array([0.95, 0.90, 0.85])
    evidence = np.array([0.05, 0.99, 0.0])  # CLIP: the first "red" shoe is hardly red
    order = rerank(metas, visual, None, parse_query("in red"), color_evidence=evidence).order.tolist()
    assert order.index(1) < order.index(0)
    assert rerank(metas, visual, None, parse_query("in red")).order.tolist() == [0, 1, 2]  # without CLIP: visual


def test_a_refinement_orders_pixel_colours_by_certainty_before_likeness():
    from stylist.rerank import EVIDENCE_WEIGHT, REFINE_COLOR_BOOST

    metas = [{"category": "Skirts", "color": "red", "color_confidence": c} for c in (0.70, 0.75, 0.97)]
    metas.append({"category": "Skirts", "color": "red"})  # a catalog's own red: certain
    visual = np.array([0.95, 0.80, 0.70, 0.60])  # the least sure red skirt looks most like the item
    evidence = np.array([0.7, 0.75, 0.97, 0.0])
    r = rerank(metas, visual, None, parse_query("in red"), color_evidence=evidence)
    assert r.order.tolist() == [3, 2, 1, 0]
    # by hand: spread = std(visual); colour score (1 - w)·c + w·evidence = c for pixels, 1 for the catalog's
    spread = float(np.std(visual))
    want = [v + spread * REFINE_COLOR_BOOST * (c if i < 3 else 1.0)
            for i, (v, c) in enumerate(zip(visual, (0.70, 0.75, 0.97, 1.0)))]
    assert np.allclose(r.scores, np.array(want)[[3, 2, 1, 0]])
    assert 0 < EVIDENCE_WEIGHT < 1


def test_excluded_words_demote_by_clips_probability_never_drop():
    metas = [{"category": "Shoes"} for _ in range(4)]
    visual = np.array([0.9, 0.8, 0.7, 0.6])
    excluded = np.array([1.0, 0.0, 0.0, 0.0])  # CLIP: the closest look-alike is a heel
    r = rerank(metas, visual, None, parse_query("shoes, no heels"), excluded=excluded)
    # by hand: spread = std(visual) = 0.1118; the heel loses 3 spreads (0.335): 0.9 - 0.335 = 0.565 < 0.6
    assert r.order.tolist() == [1, 2, 3, 0]
    assert abs(r.scores[-1] - (0.9 - 3.0 * float(np.std(visual)))) < 1e-9
    half = rerank(metas, visual, None, parse_query("shoes, no heels"), excluded=np.full(4, 0.5))
    assert half.order.tolist() == [0, 1, 2, 3]  # CLIP cannot tell: the visual order stays
    assert rerank(metas, visual, None, parse_query("shoes"), use_filters=False, excluded=excluded).order.tolist() == [0, 1, 2, 3]


def test_blend_visual_puts_clip_on_the_ae_scale_and_can_reorder():
    from stylist.rerank import blend_visual

    ae = np.array([0.9, 0.8, 0.7, 0.6])
    looks = np.array([0.1, 0.2, 0.3, 0.6])  # CLIP sees the last one as the closest
    assert np.allclose(blend_visual(ae, looks, 0.0), ae) and np.allclose(blend_visual(ae, None, 0.7), ae)
    z = (looks - looks.mean()) / looks.std()
    want = 0.5 * ae + 0.5 * (ae.mean() + z * ae.std())
    assert np.allclose(blend_visual(ae, looks, 0.5), want)
    assert int(np.argmax(blend_visual(ae, looks, 0.8))) == 3 and int(np.argmax(blend_visual(ae, looks, 0.1))) == 0
    assert blend_visual(np.zeros(0), np.zeros(0), 0.5).shape == (0,)
