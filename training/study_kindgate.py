"""When the fused kind should gate a one-garment photo's candidates (VALIDATION split only, never test).

A photo judged to be one garment shows products of its fused kind plus its few visually nearest of other
kinds (``stylist.candidates.CandidateFinder.visual``). That lifts real photos' top-5 majority class, but an
exact product whose kind the fusion got wrong is then cut. This study collects, once, the searched item of
fixed val subsets (real CC0 photos: the best item; composites of held-out products on real backgrounds: the
box matching the truth), with its fused label (first and runner-up class), and replays ``stylist.photo_search.PhotoSearch._search``
(the product's ranking, not a re-implementation of it) under alternative gates:

    python -m training.study_kindgate --out DIR [--photos 250 --composites 200]   # collect + replay
    python -m training.study_kindgate --out DIR --replay-only

Prints per gate: composites Recall@1/@10 (of all composites, the undetected counted as misses) and real
photos' top-5 majority class.
"""
from __future__ import annotations

import json
import pickle
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist


def collect(stylist: Stylist, config, root: Path, photos: int, composites: int, seed: int) -> dict:
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources
    from training.data.wild_boxes import load_wild_boxes
    from training.eval_wild import boxing, composite_pictures, photo_pictures

    n = max(config.candidates, 10)
    records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", True, ("val",))
    val = [r for r in records if r["split"] == "val"]
    pick = sorted(np.random.default_rng(seed).choice(len(val), min(photos, len(val)), replace=False))
    out: dict = {"photos": [], "composites": [], "n_composites": 0}
    for rec, img, dets in photo_pictures(stylist, [val[i] for i in pick], desc="val photos"):
        if not dets:
            out["photos"].append({"category": rec["category"], "cand": None})
            continue
        out["photos"].append({"category": rec["category"], "cand": stylist.candidates.gather(img, [dets[0]], n)[0]})
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    indexed = set(stylist.store.fingerprints())
    src.items["val"] = [(p, c) for p, c in src.items["val"] if Path(p).stem in indexed]
    for _, img, truth in composite_pictures(src, "val", composites, 512, seed, desc="val composites"):
        out["n_composites"] += 1
        dets = stylist.detect_items(img)
        j = boxing(truth["box"], dets)
        if j is None:
            continue
        cand = stylist.candidates.gather(img, [dets[j]], n)[0]
        out["composites"].append({"category": truth["category"], "product": truth["product_id"], "cand": cand})
    return out


def replay(stylist: Stylist, data: dict) -> dict:
    """Composites R@1/@10 and real photos' top-5 majority under the gate now set (``stylist.item_kind``)."""
    from stylist.timing import StageClock
    from training.eval_wild import _product_category, majority

    def ranked(cand, k: int) -> list:
        return stylist.photo_search._search(cand, None, k, 0, "full", False, StageClock()).products

    r1 = r10 = 0
    for row in data["composites"]:
        ids = [p.id for p in ranked(row["cand"], 10)]
        r1 += ids[:1] == [row["product"]]
        r10 += row["product"] in ids
    right = 0
    for row in data["photos"]:
        if row["cand"] is None:
            continue
        top5 = [_product_category(p) for p in ranked(row["cand"], 5)]
        right += majority(top5) == row["category"]
    nc, boxed = max(1, data["n_composites"]), max(1, len(data["composites"]))
    return {"r1": round(r1 / nc, 4), "r10": round(r10 / nc, 4), "r10_of_boxed": round(r10 / boxed, 4),
            "top5": round(right / max(1, len(data["photos"])), 4)}


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=3, photos=250, composites=200)
    p.add_argument("--replay-only", action="store_true")
    args = p.parse_args(argv)
    import stylist.item_kind as item_kind
    from stylist.config import load_config
    from training.tune_wild import val_stylist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config()
    stylist, _ = val_stylist(config)
    ev = out / "evidence.pkl"
    if not args.replay_only:
        data = collect(stylist, config, Path(args.data), args.photos, args.composites, args.seed)
        ev.write_bytes(pickle.dumps(data))
    data = pickle.loads(ev.read_bytes())
    base = replay(stylist, data)
    print("current gate", json.dumps(base))
    for share in (0.0, 0.2, 0.3, 0.4, 0.5, 1.01):  # the runner-up's share (stylist.item_kind.RUNNER_UP_SHARE)
        item_kind.RUNNER_UP_SHARE = share
        print(f"runner-up share {share}", json.dumps(replay(stylist, data)))
    wrong = Counter((r["category"], (r["cand"].kind or ["-"])[0]) for r in data["composites"]
                    if r["category"] not in (r["cand"].kind or []))
    print("composites whose fused kind is wrong or missing:", sum(wrong.values()), wrong.most_common(8))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
