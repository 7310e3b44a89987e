"""``stylist eval``: recompute every quality number (detector, embedders, CLIP, search) from the bundled weights on held-out data.

    stylist eval [--data DIR] [--boards DIR] [--out reports/] [--quick]

Writes ``<out>/metrics.json`` (every number with its target, anchor and met flag), the results section of
``BENCHMARKS.md`` (between ``<!-- eval:start -->`` and ``<!-- eval:end -->``; nothing else is touched), and
PNG pictures under ``<out>/``. Held-out means the test split of ``training.data.splits.split_of`` — the same
split for every model. Without ``--boards``, 300 test boards are rendered once into the cache.
``--quick`` subsamples everything (a smoke test in seconds; it writes to ``reports/quick`` and leaves
BENCHMARKS.md alone unless ``--benchmarks`` is given). ``--only PART`` re-measures some parts: they are merged
into an existing ``<out>/metrics.json`` (the other parts kept) and the BENCHMARKS.md section is redrawn from
the merged report; with no earlier report there, BENCHMARKS.md is left alone unless ``--benchmarks`` is given.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stylist.config import REPO_ROOT, WEIGHTS_DIR, Config, load_config
from stylist.schema import CLASSES
from training.eval_report import build_checks, clean, format_table, markdown_section, update_benchmarks

QUICK = {"boards": 12, "index": 400, "fpi": 200, "wild_index": 2000}
FULL_BOARDS = 300
PARTS = ("detector", "autoencoder", "clip", "search", "words", "wild", "pictures")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stylist eval",
        description="Recompute every quality number (detector, embedders, CLIP, search) from the bundled weights on held-out data; "
                    "write <out>/metrics.json, the BENCHMARKS.md results section and PNG pictures.")
    p.add_argument("--data", help="data root laid out like ../shared/data (default: STYLIST_DATA or ../shared/data)")
    p.add_argument("--boards", help="boards folder from `stylist data boards` (default: render test boards into the cache)")
    p.add_argument("--n-boards", type=int, help=f"test boards to use (default {FULL_BOARDS}; all of --boards)")
    p.add_argument("--out", help="report folder (default <repo>/reports, or <repo>/reports/quick with --quick)")
    p.add_argument("--benchmarks", help="BENCHMARKS.md to update (default <repo>/BENCHMARKS.md; none with --quick)")
    p.add_argument("--quick", action="store_true", help="subsample everything: a smoke test, not the real numbers")
    p.add_argument("--skip", action="append", default=[], choices=PARTS, help="leave a part out (repeatable)")
    p.add_argument("--only", action="append", default=[], choices=PARTS,
                   help="run just this part (repeatable), e.g. `--only words` or `--only wild` while iterating; "
                        "merged into an existing <out>/metrics.json and its BENCHMARKS.md section")
    p.add_argument("--seed", type=int, default=0, help="board rendering and subsampling seed")
    return p


# --- small helpers ----------------------------------------------------------------------------------------
def _words_eval(config, root: Path, quick: bool, seed: int) -> dict:
    """Words: pixel colour, "in <colour>" with/without a colour column, relaxation, the phrase table."""
    from training.eval_words import evaluate_words

    return dict(evaluate_words(config, root, quick=quick, seed=seed))


# --- the run ----------------------------------------------------------------------------------------------
def _subsample(items: list, n: int, rng: np.random.Generator, keep: set | None = None, key=lambda x: x) -> list:
    """At most ``n`` items (order kept), always including those whose key is in ``keep``."""
    if len(items) <= n:
        return items
    keep = keep or set()
    forced = [i for i, it in enumerate(items) if key(it) in keep]
    rest = [i for i, it in enumerate(items) if key(it) not in keep]
    extra = rng.choice(len(rest), size=max(0, n - len(forced)), replace=False) if rest else []
    chosen = sorted(forced + [rest[int(j)] for j in extra])
    return [items[i] for i in chosen]


def _search_eval(config, root: Path, boards_dir: Path, n_boards: int | None, quick: bool, seed: int) -> dict:
    """Search quality end to end (held-out boards, colour refinement): training.eval_search.evaluate_search."""
    from training.eval_search import evaluate_search

    return dict(evaluate_search(config, root, boards_dir=boards_dir, n_boards=n_boards, quick=quick, seed=seed))


@dataclass
class Run:
    """What every part of one evaluation shares: settings, data, and the report being filled in."""

    args: argparse.Namespace
    config: Config
    root: Path
    out: Path
    rng: np.random.Generator
    report: dict = field(default_factory=lambda: {"meta": {"notes": []}, "pictures": []})
    models: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def wants(self, part: str) -> bool:
        only = getattr(self.args, "only", None)
        return part not in self.args.skip and (not only or part in only)

    def picture(self, path: Path | None) -> None:
        if path is not None:
            self.report["pictures"].append(path.name)

    def note(self, text: str) -> None:
        self.report["meta"]["notes"].append(text)


def eval_boards(run: Run) -> tuple[Path, list, dict]:
    """The held-out boards: ``--boards`` (its test split), or test boards rendered once into the cache."""
    from training.eval_detector import load_test_boards, make_test_boards

    n_boards = run.args.n_boards or (QUICK["boards"] if run.args.quick else None)
    if run.args.boards:
        boards_dir, info = Path(run.args.boards), {"source": str(run.args.boards)}
    else:
        n = n_boards or FULL_BOARDS
        size = run.config.imgsz  # boards drawn at the serving size, as the detector's training boards were
        folder = run.config.cache_dir / f"eval-boards-s{run.args.seed}-n{n}-{size}"
        boards_dir, info = make_test_boards(run.root, folder, n, seed=run.args.seed, imgsz=size)
    boards = load_test_boards(boards_dir, limit=n_boards)
    if info.get("fallback_reasons"):
        run.note("test boards use fewer styles: " + "; ".join(info["fallback_reasons"]))
    info = {**info, "dir": str(boards_dir), "test_boards": len(boards),
            "styles": {s: sum(b.style == s for b in boards) for s in sorted({b.style for b in boards})}}
    return boards_dir, boards, info


def eval_detector_part(run: Run, boards: list, board_info: dict) -> tuple[list, list]:
    """ultralytics val on the boards (unless skipped) and the serving detections the retrieval queries need."""
    from stylist.models.registry import load_detector
    from training.eval_detector import detect_boards, validate_detector

    detector = load_detector(run.config)
    run.models["detector"] = detector.name
    if run.wants("detector"):
        run.report["detector"] = {"model": detector.name, "boards": board_info,
                                  **validate_detector(detector, boards, run.config.imgsz)}
    images, detections, speed = detect_boards(detector, boards)
    if run.wants("detector"):
        run.report["detector"].update(speed)
    if run.wants("pictures"):
        from training.report import detection_examples

        run.picture(detection_examples(boards, images, detections, CLASSES, run.out / "detection_examples.png"))
    return images, detections


def _search_index_vectors(run: Run):
    """ids → the product embedder's vectors in the search evaluation's CTL index of this run (None if absent)."""
    collection = ((run.report.get("search") or {}).get("ctl_index") or {}).get("collection")
    if not collection:
        return None
    try:
        from stylist.store import VISUAL, CatalogStore
        from training.eval_search import eval_config  # where the search eval keeps its indexes

        store = CatalogStore.open(eval_config(run.config, collection))
    except Exception:  # noqa: BLE001 - reuse is an optimisation; without it the crops are embedded here
        return None
    return lambda ids: store.vectors(VISUAL, ids)


def eval_autoencoder_part(run: Run, boards: list, images: list, detections: list, names: list[str]) -> None:
    """Both autoencoders against the whole CTL catalog, with the same detector-cut queries."""
    from stylist.models.registry import load_embedder
    from training.data.sources import load_ctl_crops
    from training.eval_embedder import board_queries, evaluate_embedder

    crops = load_ctl_crops(run.root)
    if run.args.quick:
        on_boards = {item["product_id"] for b in boards for item in b.boxes}
        crops = _subsample(crops, QUICK["index"], run.rng, keep=on_boards, key=lambda c: c.id)
    paths, ids, labels = [c.path for c in crops], [c.id for c in crops], [c.category for c in crops]
    queries = board_queries(boards, images, detections, ids)
    run.report["autoencoder"] = {}
    for name in names:
        embedder = load_embedder(run.config, name)
        key = Path(name).stem
        run.models[key] = embedder.name
        stored = _search_index_vectors(run) if name == run.config.embedder else None
        res, _ = evaluate_embedder(embedder, paths, labels, queries, ids, stored)
        res["not_indexed_boxes"] = queries["not_indexed"]
        run.report["autoencoder"][key] = res
        if run.wants("pictures"):
            run.picture(_retrieval_picture(res, queries, paths, labels, run.out / f"retrieval_{key}.png", embedder.name))
    run.report["meta"]["index"] = {"crops": len(paths), "source": "ctl/crops.csv (every crop that maps to a class)"}


def eval_clip_part(run: Run) -> None:
    """The text–image model on held-out FPI products."""
    from stylist.models.registry import load_clip
    from training.data.sources import load_fpi
    from training.data.splits import split_of
    from training.eval_clip import evaluate_clip, top_colours

    fpi = load_fpi(run.root)
    colours = top_colours(fpi)
    test = [it for it in fpi if split_of(it.id) == "test"]
    if run.args.quick:
        test = _subsample(test, QUICK["fpi"], run.rng)
    clip = load_clip(run.config)
    run.models["clip"] = clip.name
    res, image_emb = evaluate_clip(clip, test, colours)
    res["article_type"]["protocol"] = "every article type present among the held-out products"
    run.report["clip"] = res
    if run.wants("pictures"):
        run.picture(_text_picture(clip, test, image_emb, run.out / "text_queries.png"))


def eval_wild_part(run: Run) -> dict:
    """The "in the wild" section (training.eval_wild) on the CTL catalog index the search evaluation uses."""
    from training.data.catalog_writers import ctl_catalog
    from training.data.splits import split_of
    from training.eval_search import index_items
    from training.eval_wild import evaluate_wild

    catalog = ctl_catalog(run.root)
    limit = QUICK["wild_index"] if run.args.quick else None
    if limit and len(catalog) > limit:  # the quick index: every held-out product plus a sample of the rest
        held_out = [it for it in catalog if split_of(it.id) == "test"]
        rest = [it for it in catalog if split_of(it.id) != "test"]
        catalog = held_out + _subsample(rest, max(0, limit - len(held_out)), run.rng, key=lambda it: it.id)
    stylist, info = index_items(run.config, catalog, "eval-ctl" if not limit else f"eval-ctl-wild-{limit}", True)
    boxes = run.config.cache_dir / "wild-boxes-test.jsonl"  # GrabCut boxes of the held-out photos (backgrounds)
    picture_dir = None if "pictures" in run.args.skip else run.out  # `--only wild` draws its picture too
    result = evaluate_wild(stylist, run.root, boxes, picture_dir,
                           quick=run.args.quick, seed=run.args.seed, imgsz=run.config.imgsz, splits=("test",))
    result["index"] = info
    run.picture(run.out / result["picture"] if result.get("picture") else None)
    return result


def run_eval(args: argparse.Namespace) -> dict:
    """Every part in order, each timed; returns the report (``main`` writes it)."""
    from training.data.sources import resolve_data_root

    t0 = time.perf_counter()
    run = Run(args, load_config(), resolve_data_root(args.data), Path(args.out), np.random.default_rng(args.seed))
    run.out.mkdir(parents=True, exist_ok=True)

    def timed(name: str, fn, *a):
        t = time.perf_counter()
        result = fn(*a)
        run.timings[name] = time.perf_counter() - t
        return result

    boards_dir, boards, board_info = None, [], {}
    if any(run.wants(p) for p in ("detector", "autoencoder", "search")):
        boards_dir, boards, board_info = timed("boards", eval_boards, run)
    product_ae = Path(run.config.embedder).stem
    baseline_ae = "ae4096" if product_ae != "ae4096" else None
    images, detections = [], []
    if run.wants("detector") or run.wants("autoencoder"):
        images, detections = timed("detector", eval_detector_part, run, boards, board_info)
    elif run.wants("wild"):
        run.models["detector"] = Path(run.config.detector).stem
    if run.wants("clip"):
        timed("clip", eval_clip_part, run)
    if run.wants("search"):  # before the autoencoders: its CTL index holds the product embedder's vectors
        n_boards = args.n_boards or (QUICK["boards"] if args.quick else None)
        run.report["search"] = timed("search", _search_eval, run.config, run.root, boards_dir, n_boards,
                                     args.quick, args.seed)
    if run.wants("words"):
        run.report["words"] = timed("words", _words_eval, run.config, run.root, args.quick, args.seed)
    if run.wants("wild"):
        run.report["wild"] = timed("wild", eval_wild_part, run)
    if run.wants("autoencoder"):
        names = [run.config.embedder] + ([baseline_ae] if baseline_ae else [])
        timed("autoencoder", eval_autoencoder_part, run, boards, images, detections, names)
    del images, detections  # the board pictures are not needed any more
    if run.wants("pictures"):
        from training.report import plot_training_curves

        curves = plot_training_curves(WEIGHTS_DIR, run.out)
        run.report["pictures"] += [p.name for p in curves]
        if not curves:
            run.note(f"no training logs (*.csv, *.jsonl) under {WEIGHTS_DIR}: no curves drawn")

    report = run.report
    report["checks"] = build_checks(report, product_ae, baseline_ae)
    report["meta"].update({
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} CPU ({_cpus()} cores)",
        "command": "stylist eval " + " ".join(args.argv),
        "quick": args.quick, "data_root": str(run.root), "out": str(args.out), "models": run.models,
        "held_out": "test split of training.data.splits.split_of (by product id, 10 %): "
                    f"{len(boards)} test boards; FPI test products for CLIP; the index is the whole CTL catalog",
        "timings_s": {k: round(v, 1) for k, v in run.timings.items()},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "runtime_s": time.perf_counter() - t0,
    })
    if any("random init" in m or "untrained" in m for m in run.models.values()):
        run.note("some models are random-init (bundled weights missing): numbers are meaningless")
    return report


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _retrieval_picture(res: dict, queries: dict, paths, labels, out: Path, title: str, n: int = 10, misses: int = 3):
    """Up to ``n`` detected queries: one per category, then up to ``misses`` whose product was not ranked first."""
    from training.report import retrieval_sheet

    found = [i for i, crop in enumerate(queries["crops"]) if crop is not None]
    chosen, seen = [], set()
    for i in found:
        if queries["categories"][i] not in seen and len(chosen) < n - misses:
            chosen.append(i)
            seen.add(queries["categories"][i])
    chosen += [i for i in found if res["_ranks"][i] != 0 and i not in chosen][:n - len(chosen)]
    return retrieval_sheet([queries["crops"][i] for i in chosen], [int(queries["targets"][i]) for i in chosen],
                           res["_top"][chosen], paths, labels, [queries["categories"][i] for i in chosen], out, title)


def _text_picture(clip, test, image_emb: np.ndarray, out: Path, k: int = 8):
    """Four "colour article" queries built from the commonest held-out pairs, and four held-out titles."""
    from collections import Counter

    from stylist.metrics import top_k_neighbours
    from training.report import text_query_sheet

    pairs = Counter((it.color, it.article_type) for it in test if it.color and it.article_type)
    combos = [p for p, _ in pairs.most_common(12)][::3][:4]
    titles = [it.title for it in test[:: max(1, len(test) // 4)][:4] if it.title]
    texts = [f"{c} {a}".lower() for c, a in combos] + titles
    if not texts or len(test) < k:
        return None
    top = top_k_neighbours(clip.embed_texts(texts), image_emb, k)
    hits = [[(test[j].color, test[j].article_type) == combo for j in row] for combo, row in zip(combos, top)]
    hits += [[" ".join(test[j].title.lower().split()) == " ".join(t.lower().split()) for j in row]
             for t, row in zip(titles, top[len(combos):])]
    return text_query_sheet(texts, top, [it.path for it in test], hits, out, k)


def _in_checkout(name: str) -> Path:
    """``name`` in the repository checkout when running from one (editable install), else in the current folder."""
    return REPO_ROOT / name if (REPO_ROOT / "pyproject.toml").is_file() else Path(name)


def merge_partial(old: dict, new: dict) -> dict:
    """``new`` (an ``--only`` run) merged into ``old`` (the report it re-measures parts of), checks rebuilt."""
    from training.eval_report import merge_reports

    merged = merge_reports(old, new)
    product_ae = Path(load_config().embedder).stem
    has_base = any(k != product_ae for k in (merged.get("autoencoder") or {}))
    merged["checks"] = build_checks(merged, product_ae, "ae4096" if has_base and product_ae != "ae4096" else None)
    return clean(merged)


def main(argv: list[str]) -> int:
    """Run the evaluation, write metrics.json / BENCHMARKS.md / pictures, print the table."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    args.out = args.out or str(_in_checkout("reports/quick" if args.quick else "reports"))
    report = clean(run_eval(args))
    out = Path(args.out)
    merged = False
    if args.only and (out / "metrics.json").is_file():  # a partial run updates its parts of the earlier report
        report = merge_partial(json.loads((out / "metrics.json").read_text(encoding="utf-8")), report)
        merged = True
    (out / "metrics.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    # a partial run (--only) that had no earlier report to merge into must not replace the results section
    bench = args.benchmarks or (None if args.quick or (args.only and not merged) else str(_in_checkout("BENCHMARKS.md")))
    if bench and args.only and "words" in args.only and report.get("words", {}).get("in_colour"):
        from training.eval_words import WORDS_MARKERS, benchmarks_section, search_refinement_line

        search = search_refinement_line(report.get("search"), str(report.get("meta", {}).get("date", "")))
        run = report["meta"]["partial_runs"]["words"] if merged else report["meta"]
        words = benchmarks_section(report["words"], run["command"], report["meta"]["timings_s"]["words"], search,
                                   str(run.get("date", "")), run.get("load_average_1min_at_end"))
        update_benchmarks(Path(bench), words, WORDS_MARKERS)  # its own section
    if bench:
        rel = os.path.relpath(out.resolve(), Path(bench).resolve().parent)
        update_benchmarks(Path(bench), markdown_section(report, rel))
    print()
    print(format_table(report["checks"]))
    print(f"\nwrote {out / 'metrics.json'}" + (f", {bench}" if bench else "") +
          (f" and {len(report['pictures'])} pictures in {out}/" if report["pictures"] else ""))
    for note in report["meta"]["notes"]:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":  # python -m training.evaluate … (the same as `stylist …`)
    import sys

    raise SystemExit(main(sys.argv[1:]))
