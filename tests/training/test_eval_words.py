"""The words section of `stylist eval`: pixel-colour agreement, the phrase table, `--only words`."""
from __future__ import annotations

import argparse

from PIL import Image, ImageDraw

from stylist.catalog import CatalogItem
from training import evaluate
from training.eval_words import PHRASES, eval_pixel_colors, phrase_lines, phrase_table


def _product(path, fill) -> str:
    img = Image.new("RGB", (60, 80), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((12, 10, 48, 70), fill=fill)
    img.save(path)
    return str(path)


def test_pixel_colour_agreement_counts_families(tmp_path):
    items = [CatalogItem("a", _product(tmp_path / "a.png", (200, 25, 35)), category="Tshirts", color="Red"),
             CatalogItem("b", _product(tmp_path / "b.png", (25, 35, 90)), category="Jeans", color="Navy Blue"),
             CatalogItem("c", _product(tmp_path / "c.png", (40, 150, 70)), category="Jeans", color="Yellow")]
    res = eval_pixel_colors(items, progress=False)
    assert res["products"] == 3 and abs(res["agreement"] - 2 / 3) < 1e-9
    assert res["per_family"] == {"blue": 1.0, "red": 1.0, "yellow": 0.0} and res["top_confusions"] == {"yellow->green": 1}


def test_phrase_table_has_thirty_phrases_understood():
    rows = phrase_table()
    assert len(rows) == len(PHRASES) == 30
    by = {r["phrase"]: r for r in rows}
    assert by["top 10 dresses"]["understood"] == "Dresses"
    assert by["under $1,299"]["understood"] == "under 1299"
    assert by["no heels"]["understood"] == "not “heels”" and by["no heels"]["clip_terms"] == ""
    assert len(phrase_lines(rows)) == 32


def test_only_runs_the_named_part():
    run = evaluate.Run(argparse.Namespace(skip=[], only=["words"]), None, None, None, None)
    assert run.wants("words") and not run.wants("search") and not run.wants("detector")
    run = evaluate.Run(argparse.Namespace(skip=["words"], only=[]), None, None, None, None)
    assert not run.wants("words") and run.wants("search")


def test_a_partial_run_merges_into_the_previous_report():
    previous = {"meta": {"date": "d0", "command": "stylist eval"}, "search": {"x": 1}, "words": {"old": True},
                "checks": [], "pictures": ["a.png"]}
    partial = {"meta": {"date": "d1", "command": "stylist eval --only words", "timings_s": {"words": 3.0}},
               "words": {"new": True}, "checks": [], "pictures": []}
    merged = evaluate.merge_partial(previous, partial)
    assert merged["search"] == {"x": 1} and merged["words"] == {"new": True} and merged["pictures"] == ["a.png"]
    assert merged["meta"]["date"] == "d0"
    assert merged["meta"]["partial_runs"]["words"]["command"] == "stylist eval --only words"
    assert merged["meta"]["partial_runs"]["words"]["seconds"] == 3.0
    assert previous["words"] == {"old": True}  # the inputs are not modified


def test_the_search_evals_refinement_row_is_quoted_with_its_protocol():
    from training.eval_words import search_refinement_line

    search = {"color_refinement": {"queries": 300, "modes": {
        "full": {"category_p_at_5": 0.939, "color_p_at_5": 1.0}, "visual": {"category_p_at_5": 0.919, "color_p_at_5": 0.048}}}}
    line = search_refinement_line(search, "d0")
    assert "300 FPI test items" in line and "category P@5 after refinement 0.939 (no re-rank 0.919)" in line
    assert "colour P@5 1.000 (no re-rank 0.048)" in line and "run d0" in line
    assert search_refinement_line({}) == "" and search_refinement_line(None) == ""


def test_the_words_section_carries_the_runs_own_date_and_load():
    from training.eval_words import benchmarks_section

    result = {"pixel_colour": {"agreement": 0.5, "products": 10}}  # no search part: the short report
    head = benchmarks_section(result, "stylist eval --only words", 12.0, when="2026-01-02T03:04:05", load=7.25)
    assert head.startswith("Measured 2026-01-02T03:04:05 ") and "load 7.2" in head and "in 12 s" in head
    assert "0.500 on 10 held-out products" in head


def test_held_out_draws_disjoint_sets_of_one_split_the_same_each_time(fake_fpi_root):
    from training.data.splits import split_of
    from training.eval_words import held_out

    for split in ("val", "test"):
        pixels, queries, pool = held_out(fake_fpi_root, split, 0, 5, 3, 100)
        everyone = pixels + queries + pool
        assert everyone and {split_of(it.id) for it in everyone} == {split}
        assert not {it.id for it in queries} & {it.id for it in pool} and len(queries) == 3
        again = held_out(fake_fpi_root, split, 0, 5, 3, 100)
        assert [[it.id for it in s] for s in again] == [[it.id for it in s] for s in (pixels, queries, pool)]


def test_protocol_names_the_split():
    from training.eval_words import protocol

    result = {"split": "val", "indexes": {"catalog_colours": {"products": 10}},
              "in_colour": {"catalog_colours": {"queries": 4}}, "pixel_colour": {"products": 7}}
    text = protocol(result)
    assert "FPI val split" in text and "4 other FPI val products" in text and "test" not in text
