"""``stylist eval`` on words: colour from pixels, "in <colour>" with and without a colour column, relaxation.

    python -m training.eval_words [--quick] [--data DIR] [--out reports/words.json] [--benchmarks BENCHMARKS.md]

1. **Pixel colour**: held-out (test split) FPI products; the family of ``dominant_color`` against the family
   of FPI's ``baseColour`` (navy -> blue, maroon -> red, ...). "Multi" products are left out.
2. **"in <colour>"**: held-out FPI products (not in the index) as whole-image queries, "in <colour>" for a
   colour family other than their own that the index holds ≥ 5 of in the item's class, against two
   indexes of the same other held-out FPI products: with the catalog's colour column, and with it dropped
   (colours read from the pixels at index time, CLIP as a second opinion). Both query and index products
   come from the test split, because the bundled CLIP model was trained on FPI train/val titles, which
   name colours: an index of those would flatter the colours CLIP reads. Colour P@5 is judged by the
   products' *true* FPI colour; category P@5 by the query item's class.
3. **Relaxation**: text and refinement queries the FPI catalog cannot fully satisfy (it has no prices, no
   yellow sunglasses, ...); counts pages that came back empty although a relaxed query has results.
4. **Phrases**: 30 phrases and what they were understood as on that catalog.

``evaluate_words(config, data_root, ...)`` returns a dict; ``stylist eval`` (training/evaluate.py) calls it.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from stylist.colors import color_family, dominant_color
from stylist.config import Config, load_config
from stylist.query import category_of, parse_query

if TYPE_CHECKING:
    from stylist.search import Stylist

TARGETS = {"color_p_at_5_catalog": 0.95, "color_p_at_5_pixels": 0.80, "category_p_at_5": 0.90,
           "empty_but_relaxable": 0}
WORDS_MARKERS = ("<!-- words:start -->", "<!-- words:end -->")
MIN_POOL = 100  # fewer held-out products than this (a tiny test data root): no search part
ASKABLE = ("black", "white", "blue", "red", "green", "yellow", "pink", "grey", "brown", "purple")
PHRASES = (
    "red dress under 50", "under $50", "50 or less", "cheap black sneakers", "between 20 and 40",
    "€30 handbag", "under $1,299", "coat 1.299,00 €", "not black", "no heels", "top 10 dresses",
    "in red, but shoes", "leather jacket", "striped shirt", "denim shorts", "floral maxi dress",
    "sleeveless top in navy", "burgundy skirt", "cream sweater", "khaki pants over 30", "olive bag",
    "anything but grey", "shoes, no heels", "not red or pink", "size 8 boots under 100",
    "gold watch", "navy blue jeans 20-50", "crimson sneakers", "yellow sunglasses", "green watch between 20 and 40",
)
RELAX_TEXTS = ("red dress under 50", "cheap black shoes", "green watch between 20 and 40", "navy jeans over 1,000",
               "yellow sunglasses", "purple scarf under €30", "white heels, not white", "blue dress 10-20 dollars")


# --- 1. pixel colour -------------------------------------------------------------------------------------
def eval_pixel_colors(items, progress: bool = True) -> dict:
    """Agreement of the pixel colour's family with the catalog colour's family (per family, and confusions)."""
    per: dict[str, list[bool]] = {}
    confused: Counter[str] = Counter()
    from PIL import Image

    for it in tqdm(items, desc="eval pixel colour", unit="img", disable=not progress):
        want = color_family(it.color)
        with Image.open(it.image) as img:
            got = color_family(dominant_color(img, category=category_of(it.category)))
        per.setdefault(want, []).append(got == want)
        if got != want:
            confused[f"{want}->{got}"] += 1
    flat = [v for vs in per.values() for v in vs]
    return {"products": len(flat), "agreement": float(np.mean(flat)) if flat else float("nan"),
            "per_family": {k: round(float(np.mean(v)), 3) for k, v in sorted(per.items())},
            "top_confusions": dict(confused.most_common(8))}


# --- 2. "in <colour>" ------------------------------------------------------------------------------------
def eval_in_colour(stylist: Stylist, queries, truth: dict[str, str], have: Counter, seed: int, progress: bool,
                   label: str, min_supply: int = 5) -> dict:
    """Colour P@5 by the products' true colour family, category P@5 by the query item's class."""
    rng = np.random.default_rng(seed + 1)
    color_p, cat_p, relaxed = [], [], 0
    for it in tqdm(queries, desc=f"eval in <colour> ({label})", unit="query", disable=not progress):
        cls, own = category_of(it.category), color_family(it.color)
        options = [c for c in ASKABLE if c != own and have[(cls, c)] >= min_supply]
        if not options:
            continue
        want = options[int(rng.integers(len(options)))]
        res = stylist.search_item(stylist.load_image(it.image), None, f"in {want}", top_k=5)
        relaxed += bool(res.query.relaxed)
        color_p.append(sum(truth.get(p.id) == want for p in res.products) / 5)
        cat_p.append(sum((category_of(p.category) or p.category) == cls for p in res.products) / 5)
    return {"queries": len(color_p), "color_p_at_5": float(np.mean(color_p)) if color_p else float("nan"),
            "category_p_at_5": float(np.mean(cat_p)) if cat_p else float("nan"), "relaxed_queries": relaxed}


# --- 3. relaxation ---------------------------------------------------------------------------------------
def _bare(text: str) -> str:
    """The query with every filter gone: just the words CLIP hears."""
    q = parse_query(text)
    return q.terms or text


def eval_relaxation(stylist: Stylist, images, progress: bool) -> dict:
    """Empty pages among queries the catalog cannot fully satisfy, where the bare words have results."""
    rows = []
    for text in tqdm(RELAX_TEXTS, desc="eval relaxation", unit="query", disable=not progress):
        res = stylist.search_text(text, top_k=10)
        bare = stylist.search_text(_bare(text), top_k=10)
        rows.append({"query": text, "kind": "text", "results": len(res.products), "bare_results": len(bare.products),
                     "understood": res.query.explain()})
    for k, path in enumerate(images):
        text = ("in red under 50", "in yellow, not yellow", "in purple between 5 and 6")[k % 3]
        img = stylist.load_image(path)
        res = stylist.search_item(img, None, text, top_k=10)
        bare = stylist.search_item(img, None, None, top_k=10)
        rows.append({"query": text, "kind": "refine", "results": len(res.products),
                     "bare_results": len(bare.products), "understood": res.query.explain()})
    empty = sum(1 for r in rows if r["results"] == 0 and r["bare_results"] > 0)
    return {"queries": len(rows), "empty_but_relaxable": empty, "rows": rows}


# --- 4. phrases ------------------------------------------------------------------------------------------
def phrase_table(stylist: Stylist=None) -> list[dict]:
    """Each phrase: what the words say, and (with a Stylist) what that catalog searched after relaxing."""
    rows = []
    for text in PHRASES:
        q = parse_query(text)
        row = {"phrase": text, "understood": q.describe(), "clip_terms": q.terms}
        if stylist is not None:
            row["on_catalog"] = stylist.search_text(text, top_k=5).query.explain()
        rows.append(row)
    return rows


# --- entry point -----------------------------------------------------------------------------------------
def evaluate_words(config: Config, data_root: str | Path, quick: bool = False, seed: int = 0,
                   n_index: int | None = None, n_queries: int | None = None, n_pixel: int | None = None,
                   progress: bool = True, split: str = "test") -> dict:
    """All four parts; see the module docstring. ``quick`` shrinks every sample. ``split``: the FPI split the
    products come from — "test" for the reported numbers, "val" for tuning (never tune on test)."""
    from training.eval_search import index_items

    t0 = time.perf_counter()
    n_pixel = n_pixel or (300 if quick else 1500)
    n_queries = n_queries or (40 if quick else 200)
    n_index = n_index or (800 if quick else 3000)
    pixel_items, queries, pool = held_out(data_root, split, seed, n_pixel, n_queries, n_index)
    out: dict = {"pixel_colour": eval_pixel_colors(pixel_items, progress)}
    if len(pool) < MIN_POOL or not queries:
        out["skipped"] = f"too few held-out FPI products for the search part ({len(pool)} < {MIN_POOL})"
        return out
    truth = {it.id: color_family(it.color) for it in pool}
    have = Counter((category_of(it.category), color_family(it.color)) for it in pool)
    with_colors, info = index_items(config, pool, f"eval-words-{split}-{n_index}", progress)
    no_colors, info_px = pixel_colour_index(config, pool, f"{split}-nocolor-{n_index}", progress)
    out["indexes"] = {"catalog_colours": info, "pixel_colours": info_px}
    out["pixel_colour_in_index"] = _index_agreement(no_colors, truth)
    out["in_colour"] = {"catalog_colours": eval_in_colour(with_colors, queries, truth, have, seed, progress, "catalog"),
                        "pixel_colours": eval_in_colour(no_colors, queries, truth, have, seed, progress, "pixels")}
    out["relaxation"] = eval_relaxation(no_colors, [q.image for q in queries[:6 if quick else 12]], progress)
    out["phrases"] = phrase_table(no_colors)
    c, p = out["in_colour"]["catalog_colours"], out["in_colour"]["pixel_colours"]
    values = {"color_p_at_5_catalog": c["color_p_at_5"], "color_p_at_5_pixels": p["color_p_at_5"],
              "category_p_at_5": min(c["category_p_at_5"], p["category_p_at_5"]),
              "empty_but_relaxable": out["relaxation"]["empty_but_relaxable"]}
    out["meets"] = {k: (values[k] <= v if k == "empty_but_relaxable" else values[k] >= v) for k, v in TARGETS.items()}
    out["values"], out["targets"] = values, TARGETS
    out["split"] = split
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def held_out(data_root: str | Path, split: str, seed: int, n_pixel: int, n_queries: int,
             n_index: int) -> tuple[list, list, list]:
    """FPI products of ``split`` with a one-family colour: (a sample for the pixel-colour agreement, the
    "in <colour>" queries, the index pool; the last two disjoint), the same for the same arguments."""
    from training.data.catalog_writers import fpi_catalog

    rng = np.random.default_rng(seed)
    items = [it for it in fpi_catalog(Path(data_root))
             if color_family(it.color) not in (None, "multi") and it.extra.get("split") == split]
    pixel_items = [items[i] for i in sorted(rng.choice(len(items), size=min(n_pixel, len(items)), replace=False))]
    askable = [it for it in items if category_of(it.category) and color_family(it.color) in ASKABLE]
    order = rng.permutation(len(askable))
    queries = [askable[i] for i in sorted(order[:n_queries])]
    pool = [askable[i] for i in sorted(order[n_queries:n_queries + n_index])]
    return pixel_items, queries, pool


def pixel_colour_index(config: Config, pool, tag: str, progress: bool):
    """The index of ``pool`` with the colour column dropped (colours read from the pixels), named
    ``eval-words-<tag>-<colour reader digest>``; (Stylist, info)."""
    from training.eval_search import index_items

    return index_items(config, [dataclasses.replace(it, color="") for it in pool],
                       f"eval-words-{tag}-{colour_reader_digest()}", progress)


def colour_reader_digest() -> str:
    """A digest of the code and weights that read colours from pixels at index time. Product fingerprints
    cover the image, the row and the models, not this, so the pixel-colour index is named by it: a changed
    reader gets a fresh index instead of colours read by the old one."""
    import hashlib

    import stylist

    h = hashlib.sha1()
    base = Path(stylist.__file__).parent
    for rel in ("garment_color.py", "clip_colours.py", "colors.py", "colour_calibration.py", "weights/colour-calibration.json"):
        if (base / rel).is_file():
            h.update((base / rel).read_bytes())
    return h.hexdigest()[:8]


def _index_agreement(stylist, truth: dict[str, str]) -> dict:
    """How often the colour the index read from the pixels has the product's true family."""
    metas = stylist.store.all_metadata()
    ok = [color_family(str(m.get("color") or "")) == truth[i] for i, m in metas.items() if i in truth]
    return {"products": len(ok), "agreement": float(np.mean(ok)) if ok else float("nan")}


TARGET_LABELS = {
    "color_p_at_5_catalog": "colour P@5 after 'in <colour>', catalog colours ≥ 0.95",
    "color_p_at_5_pixels": "colour P@5 after 'in <colour>', catalog colour column dropped (colours from pixels) ≥ 0.80",
    "category_p_at_5": "category P@5 after 'in <colour>', held-out items not in the catalog ≥ 0.90 (worse of the two indexes)",
    "empty_but_relaxable": "empty pages a relaxed query would fill = 0",
}


def protocol(result: dict) -> str:
    """How the numbers were measured, with the sizes read from the result."""
    c, split = result["in_colour"]["catalog_colours"], result.get("split", "test")
    return (f"Protocol (all held-out: FPI {split} split): index = {result['indexes']['catalog_colours']['products']:,} "
            f"FPI {split} products, built twice — with the catalog's colour column, and with it dropped (colours read "
            f"from the pixels at index time: garment mask, CIELAB/CIEDE2000 palette, calibrated with CLIP's colour "
            f"guess). Queries = {c['queries']} other FPI {split} products (not in the index), whole image, searched with "
            "\"in <colour>\" for a colour family other than their own that the index holds ≥ 5 of in the query's class. "
            "Colour P@5 = share of the top 5 whose *true* FPI colour family is the one asked; category P@5 = share "
            "of the top 5 of the query item's class (FPI article type mapped to a detection class). Pixel colour "
            f"agreement: {result['pixel_colour']['products']:,} FPI {split} products, family of the colour read from the "
            "pixels alone vs FPI baseColour's family (multi-colour products left out).")


def format_report(result: dict) -> str:
    """The protocol, the numbers next to their targets, then the phrase table (markdown)."""
    px = result["pixel_colour"]
    if "in_colour" not in result:
        return f"pixel colour vs FPI baseColour family: {px['agreement']:.3f} on {px['products']} held-out products; " \
               + result.get("skipped", "")
    c, p = result["in_colour"]["catalog_colours"], result["in_colour"]["pixel_colours"]
    r = result["relaxation"]
    values, meets = result["values"], result["meets"]
    lines = [protocol(result), "", "| target | value | met |", "|---|---|---|"]
    for key, label in TARGET_LABELS.items():
        v = values[key]
        lines.append(f"| {label} | {v if isinstance(v, int) else f'{v:.3f}'} | {'yes' if meets[key] else 'NO'} |")
    lines += [
        "",
        f"- pixel colour vs FPI baseColour family: {px['agreement']:.3f} on {px['products']} held-out products "
        f"(stored in the index, pixels calibrated with CLIP: {result['pixel_colour_in_index']['agreement']:.3f})",
        f"- 'in <colour>' on {c['queries']} held-out items: colour P@5 with catalog colours {c['color_p_at_5']:.3f}, "
        f"from pixels {p['color_p_at_5']:.3f}; category P@5 {c['category_p_at_5']:.3f} / {p['category_p_at_5']:.3f}",
        f"- relaxation: {r['empty_but_relaxable']} empty pages of {r['queries']} queries the catalog cannot fully "
        "satisfy (target 0)", "", *phrase_lines(result["phrases"]),
    ]
    return "\n".join(lines)


def search_refinement_line(search: dict | None, date: str = "") -> str:
    """The search eval's own 'in <colour>' category P@5 (another index: FPI train/val products with their
    colour column, 300 FPI test items as queries), quoted next to the words section's numbers."""
    modes = ((search or {}).get("color_refinement") or {}).get("modes") or {}
    if "full" not in modes:
        return ""
    full, visual = modes["full"], modes.get("visual", {})
    return (f"- the search eval's 'in <colour>' ({search['color_refinement']['queries']} FPI test items, not in its "
            f"index of FPI train/val products with their colour column{', run ' + date if date else ''}): category P@5 "
            f"after refinement {full['category_p_at_5']:.3f} (no re-rank {visual.get('category_p_at_5', float('nan')):.3f}), "
            f"colour P@5 {full['color_p_at_5']:.3f} (no re-rank {visual.get('color_p_at_5', float('nan')):.3f}). Neither "
            "eval measures 'in <colour>' on items detected on real style boards.")


def benchmarks_section(result: dict, command: str, seconds: float, search_line: str = "", when: str = "",
                       load: float | None = None) -> str:
    """The BENCHMARKS.md words section: when, where, how long, then ``format_report`` (and ``search_line``).
    ``when``/``load``: the run's own date and load (a report merged later must not be stamped with the
    merge's time); default now."""
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    when = when or dt.datetime.now().isoformat(timespec="seconds")
    head = (f"Measured {when} on {platform.machine()} CPU "
            f"({os.cpu_count()} cores, load {load:.1f}) with `{command}` in {seconds:.0f} s.")
    report = format_report(result)
    if search_line:
        at = report.find("\n\n| phrase")
        report = f"{report[:at]}\n{search_line}{report[at:]}" if at >= 0 else f"{report}\n{search_line}"
    return f"{head}\n\n{report}"


def phrase_lines(rows: list[dict]) -> list[str]:
    """The phrase table as markdown rows."""
    out = ["| phrase | understood as | CLIP terms | searched on the FPI catalog (no prices) |", "|---|---|---|---|"]
    for row in rows:
        out.append(f"| {row['phrase']} | {row['understood']} | {row['clip_terms']} | {row.get('on_catalog', '')} |")
    return out


def main(argv: list[str] | None = None) -> int:
    from training.data.sources import resolve_data_root

    p = argparse.ArgumentParser(prog="python -m training.eval_words", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="data root laid out like ../shared/data")
    p.add_argument("--quick", action="store_true", help="small samples: a smoke run, not the reported numbers")
    p.add_argument("--n-index", type=int)
    p.add_argument("--n-queries", type=int)
    p.add_argument("--split", default="test", choices=("test", "val"),
                   help="FPI split of the products: test for the reported numbers, val for tuning")
    p.add_argument("--out", help="write the result as JSON here")
    p.add_argument("--benchmarks", help="write the report between the words markers of this BENCHMARKS.md")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    result = evaluate_words(load_config(), resolve_data_root(args.data), args.quick, n_index=args.n_index,
                            n_queries=args.n_queries, split=args.split)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False, default=float) + "\n")
    if args.benchmarks:
        from training.eval_report import update_benchmarks

        command = f"python -m training.eval_words{' --quick' if args.quick else ''}"
        update_benchmarks(Path(args.benchmarks), benchmarks_section(result, command, time.perf_counter() - t0),
                          WORDS_MARKERS)
    print(format_report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
