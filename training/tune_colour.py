"""Tune how colours read from pixels rank after "in <colour>", on the VALIDATION split only.

    python -m training.tune_colour [--data DIR] [--seeds 3] [--grid]

Opens (building when missing) the words eval's two indexes of held-out FPI **val** products — with the
catalog's colour column and with it dropped (colours read from the pixels, the index named by the colour
reader's digest, so a changed reader gets a fresh one) — and prints:

* how often the colour stored in the pixel index has the product's true family, per family, the top
  confusions, and that agreement by confidence band (is the confidence worth ranking by?);
* colour and category P@5 of "in <colour>" with the re-rank's colour weights as they are and, with
  ``--grid``, for each setting of ``stylist.rerank``'s REFINE_COLOR_BOOST / EVIDENCE_WEIGHT /
  UNSURE_PENALTY. Each query item is asked for ``--seeds`` different colours (more pairs, less noise).

The test split is never opened here: its numbers come once, at the end, from ``stylist eval --only words``.
"""
from __future__ import annotations

import argparse
import itertools
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stylist.colors import color_family
from stylist.config import load_config
from stylist.query import category_of

if TYPE_CHECKING:
    from stylist.search import Stylist

GRID = {"REFINE_COLOR_BOOST": (20.0, 40.0, 80.0, 160.0, 320.0), "EVIDENCE_WEIGHT": (0.0, 0.25, 0.5),
        "UNSURE_PENALTY": (0.5, 1.0)}
N_PIXEL = 1500  # as the words eval draws it: the same random draws give the same queries and index
BANDS = (0.0, 0.4, 0.6, 0.8, 0.9, 1.01)


def stored_colours(stylist: Stylist, truth: dict[str, str]) -> dict:
    """Agreement of the stored colour family with the truth, per family, confusions, per confidence band."""
    rows = [(truth[i], color_family(str(m.get("color") or "")), float(m.get("color_confidence") or 0.0))
            for i, m in stylist.store.all_metadata().items() if i in truth]
    per: dict[str, list[bool]] = {}
    for want, got, _ in rows:
        per.setdefault(want, []).append(want == got)
    conf = np.array([c for *_, c in rows])
    ok = np.array([w == g for w, g, _ in rows])
    bands = {f"{lo:.1f}-{hi:.1f}": (int(m.sum()), round(float(ok[m].mean()), 3))
             for lo, hi in zip(BANDS, BANDS[1:]) if (m := (conf >= lo) & (conf < hi)).any()}
    return {"agreement": round(float(ok.mean()), 3),
            "per_family": {k: (len(v), round(float(np.mean(v)), 3)) for k, v in sorted(per.items())},
            "confusions": dict(Counter(f"{w}->{g}" for w, g, _ in rows if w != g).most_common(10)),
            "by_confidence": bands}


def in_colour(stylist: Stylist, queries, truth, have, seeds: int) -> tuple[float, float]:
    """Mean colour and category P@5 over ``seeds`` draws of the asked colour per query item."""
    from training.eval_words import eval_in_colour

    runs = [eval_in_colour(stylist, queries, truth, have, s, False, "val") for s in range(seeds)]
    return float(np.mean([r["color_p_at_5"] for r in runs])), float(np.mean([r["category_p_at_5"] for r in runs]))


def main(argv: list[str] | None = None) -> int:
    from stylist import rerank
    from training.data.sources import resolve_data_root
    from training.eval_search import index_items
    from training.eval_words import held_out, pixel_colour_index

    p = argparse.ArgumentParser(prog="python -m training.tune_colour", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="data root laid out like ../shared/data")
    p.add_argument("--n-index", type=int, default=3000)
    p.add_argument("--n-queries", type=int, default=200)
    p.add_argument("--seeds", type=int, default=3, help="colours asked per query item")
    p.add_argument("--grid", action="store_true", help="also try every setting in GRID")
    p.add_argument("--only", action="append", default=[], metavar="NAME=V1,V2",
                   help="with --grid: these values for one constant instead of GRID's (repeatable)")
    args = p.parse_args(argv)
    config, root = load_config(), resolve_data_root(args.data)
    _, queries, pool = held_out(Path(root), "val", 0, N_PIXEL, args.n_queries, args.n_index)
    truth = {it.id: color_family(it.color) for it in pool}
    have = Counter((category_of(it.category), color_family(it.color)) for it in pool)
    pixels, _ = pixel_colour_index(config, pool, f"val-nocolor-{args.n_index}", True)
    print("stored pixel colours (val):", stored_colours(pixels, truth))
    catalog, _ = index_items(config, pool, f"eval-words-val-{args.n_index}", True)
    print("catalog colours: colour P@5 %.3f category P@5 %.3f" % in_colour(catalog, queries, truth, have, args.seeds))
    print("pixel colours:   colour P@5 %.3f category P@5 %.3f" % in_colour(pixels, queries, truth, have, args.seeds))
    if args.grid:
        grid = dict(GRID)
        for spec in args.only:
            name, values = spec.split("=")
            grid[name] = tuple(float(v) for v in values.split(","))
        names = list(grid)
        for values in itertools.product(*grid.values()):
            saved = {n: getattr(rerank, n) for n in names}
            for n, v in zip(names, values):
                setattr(rerank, n, v)
            try:
                c, k = in_colour(pixels, queries, truth, have, args.seeds)
            finally:
                for n, v in saved.items():
                    setattr(rerank, n, v)
            print(" ".join(f"{n}={v}" for n, v in zip(names, values)), f"colour P@5 {c:.3f} category P@5 {k:.3f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
