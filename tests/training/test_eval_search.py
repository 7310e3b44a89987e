"""Search evaluation: the pure helpers, and the colour-refinement loop on a small made-up catalog."""
from __future__ import annotations

import math

import pytest

from stylist.catalog import read_catalog
from stylist.config import load_config
from training.eval_search import MODES, eval_color_refinement, format_report, hit_at_k, label_precision_at_k, share

from tests.helpers.catalog import make_catalog


def test_helpers():
    assert share([True, False, True, True]) == 0.75 and math.isnan(share([]))
    assert hit_at_k(["a", "b", "c"], "c", 3) and not hit_at_k(["a", "b", "c"], "c", 2)
    assert label_precision_at_k(["x", "x", "y"], "x", 5) == 0.4  # missing results count as wrong


def test_colour_refinement_on_a_small_catalog(tmp_path):
    from index.build import build_index
    from stylist.search import Stylist
    from stylist.models import shared_clip, shared_embedder
    catalog = make_catalog(tmp_path / "cat", per_combo=5)  # every category in every colour, 5 each (P@5 reachable)
    config = load_config(env={}, db_path=tmp_path / "db", collection="eval-test")
    build_index(config, catalog, shared_embedder(config), shared_clip(config), progress=False)
    items = read_catalog(catalog)
    # the made-up catalog leaves odd products colourless; give queries/pool their drawn colour
    items = [it.__class__(**{**it.__dict__, "color": it.id.split("-")[1]}) for it in items]
    stylist = Stylist.from_config(config)
    result = eval_color_refinement(stylist, items, items[::13], seed=0, progress=False)
    assert result["queries"] == len(items[::13]) and set(result["modes"]) == set(MODES)
    full = result["modes"]["full"]
    assert full["color_p_at_5"] >= 0.9
    assert "random init" not in stylist.embedder.name, "the bundled ae512 weights did not load"
    assert full["category_p_at_5"] >= 0.8  # the item's kind comes from its visual neighbours
    assert result["modes"]["visual"]["color_p_at_5"] < full["color_p_at_5"]
    assert "CLIP + parsed filters" in format_report({"color_refinement": result})


@pytest.mark.shared_data
def test_fpi_sets_are_held_out(shared_data):
    from training.data.splits import split_of
    from training.eval_search import fpi_sets

    pool, queries = fpi_sets(shared_data, 50, 10, seed=0)
    assert len(pool) == 50 and len(queries) == 10
    assert all(split_of(q.id) == "test" for q in queries) and not {q.id for q in queries} & {p.id for p in pool}
