"""Compare detector candidates on the VALIDATION split's boards, as served (never test).

    python -m training.accept_detector --out runs/accept.json --weights bundled CAND1.pt CAND2.pt \
        [--check CAND-item-check.json] [--clutter 150] [--clean 100] [--drawn 60] [--seed 0]

Why: a detector fine-tune that raises recall on cluttered boards can forget clean catalogue boards and drawn
products (two earlier CPU fine-tunes did). Every candidate is served exactly as the search serves it
(``stylist.verify.serving_detector``: serving settings, whole-garment boxes, the item check on boards) on the
same fixed val pictures:

- cluttered boards (``training.data.wild.render_clutter``: real CTL layouts, unlabelled distractors);
- clean catalogue boards (``training.data.boards.render_layout_board``);
- drawn-product grids (``training.data.drawn.render_drawn_board``).

Per kind: class-agnostic recall and precision at IoU 0.5 (greedy, as ``training.eval_wild``), the share of
found items whose served label is right, and recall / precision on two random halves of the pictures (the
noise to read a difference against). ``--check`` serves the candidates with another item check (one trained
for that detector, ``training.train_verifier``); ``--no-check`` serves without any.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

KINDS = ("clutter", "clean", "drawn")


def val_pictures(root: Path | None, boxes_cache: Path, imgsz: int, counts: dict[str, int], seed: int = 0
                 ) -> list[tuple[str, object, list[dict]]]:
    """(kind, picture, truth boxes) for the val split, the same for every candidate (seeded per picture)."""
    from training.data.boards import load_board_sources, render_layout_board
    from training.data.drawn import render_drawn_board
    from training.data.wild import load_wild_sources, render_clutter
    from training.data.wild_boxes import load_wild_boxes

    records = load_wild_boxes(root, boxes_cache, True, ("val",))
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    render = {"clutter": lambda rng: render_clutter(src, "val", imgsz, rng),
              "clean": lambda rng: render_layout_board(src.boards, "val", imgsz, rng),
              "drawn": lambda rng: render_drawn_board(None, "val", imgsz, rng)}
    out = []
    for kind in KINDS:
        for k in range(counts.get(kind, 0)):
            img, rec = render[kind](np.random.default_rng([seed, 61, KINDS.index(kind), k]))
            out.append((kind, img, rec["boxes"]))
    return out


def score(pictures: list[tuple[str, object, list[dict]]], detect, seed: int = 0) -> dict:
    """Recall, precision and label accuracy per kind of the detections ``detect(img)`` serves."""
    from training.eval_wild import match_boxes

    rows: dict[str, list[tuple[int, int, int, int]]] = {k: [] for k in KINDS}  # items, found, served, labels right
    for kind, img, truths in tqdm(pictures, desc="val boards", unit="img", leave=False):
        dets = detect(img)
        matched = match_boxes([t["box"] for t in truths], [d.box for d in dets])
        right = sum(m >= 0 and dets[m].label == t["category"] for t, m in zip(truths, matched))
        rows[kind].append((len(truths), sum(m >= 0 for m in matched), len(dets), right))
    return {kind: summarise(r, seed) for kind, r in rows.items() if r}


def summarise(rows: list[tuple[int, int, int, int]], seed: int = 0) -> dict:
    """Totals of per-picture (items, found, served, labels right), and the same on two random halves."""
    def totals(part) -> dict:
        items, found, served, right = (sum(rows[i][j] for i in part) for j in range(4))
        return {"recall": round(found / max(1, items), 4), "precision": round(found / max(1, served), 4),
                "label": round(right / max(1, found), 4)}

    order = np.random.default_rng([seed, 5]).permutation(len(rows))
    half = len(rows) // 2
    return {"pictures": len(rows), "items": sum(r[0] for r in rows), **totals(range(len(rows))),
            "halves": [totals(order[:half]), totals(order[half:])]}


def served_detector(config, weights: str, check: str, clip):
    """The detector ``weights`` ("bundled": the configured one) as the search serves it, with the item check
    at ``check`` ("" the bundled one, "none": no check)."""
    from stylist import verify
    from stylist.models.registry import load_detector

    if weights != "bundled":
        config = config.replace(detector=weights)
    if check == "none":
        config = config.replace(detect_verify=0)
    elif check:
        config = config.replace(detect_verify_check=Path(check))
    return verify.serving_detector(config, load_detector(config), clip)


def main(argv: list[str] | None = None) -> int:
    from stylist.config import load_config
    from stylist.models.registry import load_clip

    p = argparse.ArgumentParser(prog="python -m training.accept_detector", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="JSON of every candidate's numbers")
    p.add_argument("--weights", nargs="+", default=["bundled"], help='detector .pt files ("bundled": the configured)')
    p.add_argument("--check", default="", help='item-check JSON for the candidates ("none": no check; default bundled)')
    p.add_argument("--data", default=None, help="data root (default: STYLIST_DATA)")
    p.add_argument("--boxes", default="", help="GrabCut box cache (default: <cache>/wild-boxes-val.jsonl)")
    for kind, n in zip(KINDS, (150, 100, 60)):
        p.add_argument(f"--{kind}", type=int, default=n, help=f"val {kind} pictures")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    config = load_config()
    root = Path(a.data) if a.data else config.data_dir
    boxes = Path(a.boxes) if a.boxes else config.cache_dir / "wild-boxes-val.jsonl"
    pictures = val_pictures(root, boxes, config.imgsz, {k: getattr(a, k) for k in KINDS}, a.seed)
    clip = load_clip(config)
    out = Path(a.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    for w in a.weights:
        key = f"{w} | check={a.check or 'bundled'}"
        result[key] = score(pictures, served_detector(config, w, a.check, clip).detect, a.seed)
        print(key, json.dumps({k: {m: v[m] for m in ("recall", "precision", "label")}
                               for k, v in result[key].items()}), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
