"""Search quality end to end: held-out boards through the real detector, and colour refinement.

1. **Boards**: every product box on the held-out TEST boards of a boards folder (``manifest.jsonl`` from
   ``stylist data boards``) whose product is in the CTL catalog index. The real detector runs on the board;
   the detection matching the true box (IoU ≥ 0.5) is searched. Item Recall@10 = the product itself is in the
   top 10 (a missed detection counts as a miss); category P@5 = share of the top 5 in the true category.
2. **Colour refinement**: held-out (test split) FPI products as queries, "in <colour>" for a colour family other
   than their own, against an index of FPI train/val products. Colour P@5 (target ≥ 0.80) and category P@5
   (≥ 0.80), side by side for: no re-rank (visual only), CLIP alone, CLIP + parsed filters.

``evaluate_search(config, data_root, ...)`` returns a dict; ``stylist eval`` (training/evaluate.py) calls it.
Indexes live in ``<home>/cache/eval-index`` (embedded Chroma) and are reused when unchanged.
"""
from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stylist.catalog import write_catalog
from stylist.colors import color_family
from stylist.config import Config
from stylist.metrics import best_match
from stylist.query import category_of
from stylist.search import Stylist

TARGETS = {"color_p_at_5": 0.80, "category_p_at_5": 0.80}
ASKABLE = ("black", "white", "blue", "red", "green", "yellow", "pink", "grey", "brown", "purple")
MODES = {"visual": "no re-rank", "clip": "CLIP alone", "full": "CLIP + parsed filters"}


# --- small pure helpers (stylist.metrics holds the general ones) ---------------------------------------
def share(values: list[bool]) -> float:
    """Fraction of True; NaN for an empty list (nothing measured is not 0 % or 100 %)."""
    return float(np.mean(values)) if values else float("nan")


def hit_at_k(ranked_ids: list[str], target: str, k: int) -> bool:
    return target in ranked_ids[:k]


def label_precision_at_k(labels: list[str], wanted: str, k: int = 5) -> float:
    """Share of the first ``k`` labels equal to ``wanted`` (missing results count as wrong)."""
    return sum(1 for lab in labels[:k] if lab == wanted) / k


# --- indexes -------------------------------------------------------------------------------------------
def eval_config(config: Config, collection: str) -> Config:
    """The config of the eval's own embedded indexes (never the user's catalog or a server)."""
    return dataclasses.replace(config, chroma_url=None, db_path=config.cache_dir / "eval-index", collection=collection)


def index_items(config: Config, items, name: str, progress: bool) -> tuple[Stylist, dict]:
    """Write ``items`` as a catalog CSV, build (or update) its index, open a Stylist on it."""
    from index.build import build_index

    cfg = eval_config(config, name)
    csv_path = write_catalog(items, cfg.cache_dir / "eval-catalogs" / f"{name}.csv", relative=False)
    stylist = Stylist.from_config(cfg)  # the models load once and index and search share them
    report = build_index(cfg, csv_path, stylist.embedder, stylist.clip, store=stylist.store, batch_size=128,
                         prune=True, progress=progress)
    return stylist, {"collection": name, "products": stylist.store.count(), "build": report.summary()}


# --- 1. boards -------------------------------------------------------------------------------------------
def eval_boards(stylist: Stylist, boards, progress: bool) -> dict:
    indexed = set(stylist.store.fingerprints())
    hits, cat_p5, detected = [], [], []
    per_class: dict[str, list[bool]] = {}
    for board in tqdm(boards, desc="eval boards", unit="board", disable=not progress):
        boxes = [b for b in board.boxes if b.get("product_id") in indexed]
        if not boxes:
            continue
        img = stylist.load_image(board.path)
        detections = stylist.detect_items(img)
        for truth in boxes:
            best = best_match(truth["box"], [d.box for d in detections], 0.5)
            if best < 0:
                detected.append(False)
                hits.append(False)
                per_class.setdefault(truth["category"], []).append(False)
                continue
            detected.append(True)
            res = stylist.search_item(img, detections[best], None, top_k=10)
            ids = [p.id for p in res.products]
            hit = hit_at_k(ids, truth["product_id"], 10)
            hits.append(hit)
            per_class.setdefault(truth["category"], []).append(hit)
            cat_p5.append(label_precision_at_k([p.category for p in res.products], truth["category"], 5))
    return {
        "test_boards": len(boards), "items": len(hits), "detected": share(detected),
        "item_recall_at_10": share(hits), "category_p_at_5": float(np.mean(cat_p5)) if cat_p5 else float("nan"),
        "item_recall_at_10_by_class": {k: share(v) for k, v in sorted(per_class.items())},
        "note": "end to end: a true item the detector misses (IoU < 0.5) counts as a miss; P@5 over detected items",
    }


# --- 2. colour refinement --------------------------------------------------------------------------------
def fpi_sets(root: Path, n_index: int, n_queries: int, seed: int):
    """FPI train/val products for the index and test products as queries, both mapped to detection classes."""
    from training.data.catalog_writers import fpi_catalog

    rng = np.random.default_rng(seed)
    usable = [it for it in fpi_catalog(root) if category_of(it.category) and color_family(it.color) in ASKABLE]
    pool = [it for it in usable if it.extra.get("split") != "test"]
    tests = [it for it in usable if it.extra.get("split") == "test"]
    pool = [pool[i] for i in sorted(rng.choice(len(pool), size=min(n_index, len(pool)), replace=False))]
    tests = [tests[i] for i in sorted(rng.choice(len(tests), size=min(n_queries, len(tests)), replace=False))]
    return pool, tests


def eval_color_refinement(stylist: Stylist, pool, queries, seed: int, progress: bool, min_supply: int = 5) -> dict:
    """Colour/category P@5 per mode; the asked colour is one the index holds ≥ ``min_supply`` of in the item's class."""
    rng = np.random.default_rng(seed + 1)
    have = Counter((category_of(it.category), color_family(it.color)) for it in pool)
    rows = {m: {"color": [], "category": []} for m in MODES}
    asked = Counter()
    skipped = 0
    for it in tqdm(queries, desc="eval colour", unit="query", disable=not progress):
        cls, own = category_of(it.category), color_family(it.color)
        options = [c for c in ASKABLE if c != own and have[(cls, c)] >= min_supply]  # a colour the catalog can satisfy
        if not options:
            skipped += 1
            continue
        want = options[int(rng.integers(len(options)))]
        asked[want] += 1
        img = stylist.load_image(it.image)
        for mode in MODES:
            res = stylist.search_item(img, None, f"in {want}", top_k=5, mode=mode)
            rows[mode]["color"].append(label_precision_at_k([color_family(p.color) or "" for p in res.products], want))
            rows[mode]["category"].append(label_precision_at_k([category_of(p.category) or p.category
                                                                for p in res.products], cls))
    modes = {m: {"label": MODES[m], "color_p_at_5": float(np.mean(r["color"])) if r["color"] else float("nan"),
                 "category_p_at_5": float(np.mean(r["category"])) if r["category"] else float("nan")}
             for m, r in rows.items()}
    return {"queries": len(rows["full"]["color"]), "skipped_no_such_colour": skipped, "asked": dict(asked),
            "modes": modes, "targets": TARGETS,
            "meets": {k: modes["full"][k] >= v for k, v in TARGETS.items()}}


# --- entry point --------------------------------------------------------------------------------------------
def evaluate_search(config: Config, data_root: str | Path, boards_dir: str | Path | None = None, quick: bool = False,
                    seed: int = 0, n_boards: int | None = None, n_fpi_index: int | None = None,
                    n_color_queries: int | None = None, ctl_limit: int | None = None, progress: bool = True) -> dict:
    """Both evaluations; see the module docstring. ``quick`` shrinks every sample for a smoke run."""
    from training.data.catalog_writers import ctl_catalog

    t0 = time.perf_counter()
    root = Path(data_root)
    out: dict = {"models": {}}
    boards = []
    if boards_dir is not None:
        from training.eval_detector import load_test_boards

        boards = load_test_boards(Path(boards_dir), limit=n_boards or (40 if quick else None))
    catalog = ctl_catalog(root)
    limit = ctl_limit or (2000 if quick else None)
    if limit and len(catalog) > limit:  # a smaller catalog for smoke runs, always holding the boards' products
        on_boards = {b["product_id"] for board in boards for b in board.boxes}
        rng = np.random.default_rng(seed)
        keep = set(rng.choice(len(catalog), size=limit, replace=False).tolist())
        catalog = [it for k, it in enumerate(catalog) if k in keep or it.id in on_boards]
    ctl, ctl_info = index_items(config, catalog, "eval-ctl" if not limit else f"eval-ctl-{limit}", progress)
    out["models"] = {"detector": ctl.detector.name, "embedder": ctl.embedder.name, "clip": ctl.clip.name}
    out["ctl_index"] = ctl_info
    if boards:
        out["boards"] = eval_boards(ctl, boards, progress)
    else:
        out["boards"] = {"skipped": "no boards folder given (make one with `stylist data boards`)"}
    n_index = n_fpi_index or (1500 if quick else 6000)
    pool, queries = fpi_sets(root, n_index, n_color_queries or (60 if quick else 300), seed)
    fpi, fpi_info = index_items(config, pool, f"eval-fpi-{n_index}", progress)
    out["fpi_index"] = fpi_info
    out["color_refinement"] = eval_color_refinement(fpi, pool, queries, seed, progress)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def format_report(result: dict) -> str:
    """A short text table of the numbers next to their targets."""
    lines = []
    b = result.get("boards", {})
    if "item_recall_at_10" in b:
        lines.append(f"boards: {b['items']} items on {b['test_boards']} test boards, detected {b['detected']:.3f}, "
                     f"item Recall@10 {b['item_recall_at_10']:.3f}, category P@5 {b['category_p_at_5']:.3f}")
    c = result.get("color_refinement", {})
    if c.get("modes"):
        lines.append(f"colour refinement ({c['queries']} FPI test queries, 'in <other colour>'):")
        lines.append(f"  {'mode':<24} {'colour P@5':>10} {'category P@5':>13}   (targets ≥ 0.80 / ≥ 0.80)")
        for m in c["modes"].values():
            lines.append(f"  {m['label']:<24} {m['color_p_at_5']:>10.3f} {m['category_p_at_5']:>13.3f}")
    return "\n".join(lines)
