"""Which view of a real photo names its garment best: the detector's best box, that box widened, the union of
all detected boxes, or the whole photo (VALIDATION split only, never test).

On a shopper's photo of one garment the detector's best box is often a part of it (a collar, a pocket, a
shoe-shaped sleeve), and every label source then names the part. This study gathers, per val CC0 photo and
per view, the evidence ``stylist.labels`` fuses (category head, AE and CLIP-image neighbours' classes, CLIP
zero-shot; the garment namer's probabilities when the bundled weights have it), plus geometry (how much of
the GrabCut garment box the best box covers), and replays accuracies offline:

    python -m training.study_views --out /tmp/views [--photos 500]      # collect + study
    python -m training.study_views --out /tmp/views --study-only        # replay evidence.pkl

Writes ``evidence.pkl`` and ``views.json`` (accuracy per source × view, per geometry bucket).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.schema import CLASSES
from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

SOURCES = ("detector", "head", "neighbours", "clip_neighbours", "zero_shot", "namer")
K = 10


def union_box(boxes) -> tuple[float, float, float, float]:
    b = np.asarray(boxes, float)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def views_of(img: Image.Image, dets) -> dict[str, tuple | None]:
    """The boxes studied (None = the whole photo)."""
    from stylist.labels import expand_box

    best = dets[0].box
    return {"box": best, "x1.3": expand_box(best, 1.3, img.size), "x1.5": expand_box(best, 1.5, img.size),
            "union": union_box([d.box for d in dets]), "whole": None}


def collect(stylist: Stylist, samples, progress: bool = True) -> list[dict]:
    """One row per photo: the named item (real photo: the best detection; composite or board: each detection
    matching a true box), its views' evidence and geometry, and whether the photo looked like one garment."""
    from stylist.images import item_crop
    from stylist.garment_box import garment_box
    from stylist.garment_photo import one_garment
    from stylist.metrics import box_iou
    from training.val_evidence import ValPicture, collect_rows, crop_evidence, jpeg

    def rows_of(pic: ValPicture) -> list[dict]:
        img, dets = pic.img, pic.detections
        pairs = [(t, m) for t, m in pic.items if m is not None]
        if not pairs:
            return [{"kind": pic.kind, "truth": pic.truths[0]["category"], "n_dets": 0}]
        rows = []
        for t, m in pairs:
            views = views_of(img, [dets[m]] + [d for j, d in enumerate(dets) if j != m])
            views["grabcut"] = tuple(t["box"])
            names = list(views)
            crops = [item_crop(img, views[v]) for v in names]
            ev = crop_evidence(stylist, crops, K)
            per_view = {v: {"head": ev.heads[i], "clip_vec": ev.clip[i].astype(np.float32),
                            "ae": [(str(x.meta.get("category") or ""), float(x.similarity)) for x in ev.ae_hits[i]],
                            "cl": [(str(x.meta.get("category") or ""), float(x.similarity)) for x in ev.clip_hits[i]],
                            "namer": ev.namer[i], "crop": jpeg(crops[i])} for i, v in enumerate(names)}
            best, gc, d = dets[m].box, views["grabcut"], dets[m]
            inter = (max(0.0, min(best[2], gc[2]) - max(best[0], gc[0]))
                     * max(0.0, min(best[3], gc[3]) - max(best[1], gc[1])))
            area = img.width * img.height
            together = one_garment([x.box for x in dets], [x.score for x in dets], garment_box(img))
            rows.append({"kind": pic.kind, "truth": t["category"], "garment": t.get("garment", ""),
                         "n_dets": len(dets), "one_garment": together, "det_label": d.label,
                         "det_score": float(d.score), "dets": [(x.label, float(x.score), tuple(x.box)) for x in dets],
                         "size": img.size, "best_area": _area(best) / area, "union_area": _area(views["union"]) / area,
                         "iou_gc": box_iou(best, gc), "cover_gc": inter / max(1.0, _area(gc)),
                         "union_iou_gc": box_iou(views["union"], gc), "views": per_view})
        return rows

    return collect_rows(stylist, samples, rows_of, "val views", progress)


def real_samples(records: list[dict]):
    """(kind, image path, truths) of real val photos, the GrabCut box as the garment's box."""
    for rec in records:
        yield "real", rec["path"], [{"category": rec["category"], "box": rec["box"], "garment": rec["garment"]}]


def _area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def view_sources(row: dict, view: str, class_vectors: np.ndarray) -> dict:
    """Each source's probabilities for one view of one photo (the detector's vote is the best box's)."""
    from stylist.labels import detector_probs, neighbour_probs, zero_shot_probs

    v = row["views"][view]
    return {"detector": detector_probs(row["det_label"], row["det_score"], CLASSES),
            "head": v["head"],
            "neighbours": neighbour_probs([c for c, _ in v["ae"]], [s for _, s in v["ae"]], CLASSES, K),
            "clip_neighbours": neighbour_probs([c for c, _ in v["cl"]], [s for _, s in v["cl"]], CLASSES, K),
            "zero_shot": zero_shot_probs(v["clip_vec"][None], class_vectors)[0],
            "namer": v.get("namer")}


def study(rows: list[dict], class_vectors: np.ndarray, weights=None, context_weights=None) -> dict:
    """Accuracy per view of each source alone, of the fusion (``WEIGHTS``) on that view, and of the fusion
    with that view as the context of the best box (``CONTEXT_WEIGHTS``: what a one-garment photo gets)."""
    from stylist.labels import CONTEXT_WEIGHTS, WEIGHTS, fuse

    weights, context_weights = weights or WEIGHTS, context_weights or CONTEXT_WEIGHTS
    rows = [r for r in rows if r["n_dets"] and r.get("kind", "real") == "real"]
    views = list(rows[0]["views"])
    table = {}
    for view in views:
        right: dict[str, list[bool]] = {s: [] for s in (*SOURCES, "fused", "box+context")}
        for r in rows:
            src, box = view_sources(r, view, class_vectors), view_sources(r, "box", class_vectors)
            for s in SOURCES:
                if src[s] is not None:
                    right[s].append(CLASSES[int(np.argmax(src[s]))] == r["truth"])
            right["fused"].append(fuse(CLASSES, weights=weights, **src).label == r["truth"])
            ctx = {f"context_{k}": v for k, v in src.items() if k != "detector"}
            right["box+context"].append(fuse(CLASSES, weights=context_weights, **box, **ctx).label == r["truth"])
        table[view] = {s: round(float(np.mean(v)), 3) for s, v in right.items() if v}
    iou = np.array([r["iou_gc"] for r in rows])
    cover = np.array([r["cover_gc"] for r in rows])
    geometry = {"photos": len(rows), "one_detection": float(np.mean([r["n_dets"] == 1 for r in rows])),
                "best_iou_gc<0.5": float(np.mean(iou < 0.5)), "best_covers<half_of_gc": float(np.mean(cover < 0.5)),
                "median_iou_gc": float(np.median(iou)),
                "median_best_area": float(np.median([r["best_area"] for r in rows]))}
    return {"accuracy": table, "geometry": geometry}


CONTEXT_SOURCES = (("box", "head"), ("box", "neighbours"), ("box", "clip_neighbours"), ("box", "zero_shot"),
                   ("box", "namer"), ("box", "detector"), ("whole", "namer"), ("whole", "head"))


def context_study(rows: list[dict], class_vectors: np.ndarray, grid=(0.0, 0.5, 1.0, 2.0),
                  sources=CONTEXT_SOURCES) -> list[dict]:
    """How ``stylist.labels.CONTEXT_WEIGHTS`` was chosen: accuracy of every weight combination of ``sources``
    (view, source) on the one-garment items (real photos and composites) — Σ w · log p per item, best first by
    the mean of the two sets (ties: fewer sources)."""
    import itertools

    from stylist.labels import _smooth

    rows = [r for r in rows if r["n_dets"] and r.get("one_garment") and r["kind"] in ("real", "composite")]
    srcs = [{v: view_sources(r, v, class_vectors) for v in ("box", "whole")} for r in rows]
    logs = np.stack([np.stack([np.log(_smooth(s[v][name])) if s[v][name] is not None else np.zeros(len(CLASSES))
                               for s in srcs]) for v, name in sources])
    truth = np.array([CLASSES.index(r["truth"]) for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    out = []
    for w in itertools.product(grid, repeat=len(sources)):
        if any(w):
            right = np.tensordot(np.asarray(w), logs, axes=1).argmax(1) == truth
            acc = {k: float(right[kinds == k].mean()) for k in ("real", "composite") if (kinds == k).any()}
            out.append({"weights": dict(zip([f"{v}.{n}" for v, n in sources], w)), **acc,
                        "mean": float(np.mean(list(acc.values())))})
    out.sort(key=lambda r: (-r["mean"], sum(x > 0 for x in r["weights"].values())))
    return out


def product_check(stylist: Stylist, root: Path, boxes_cache: Path, sizes: dict, imgsz: int, seed: int = 5,
                  progress: bool = True) -> dict:
    """The shipped pipeline on the val split: real photos as ``stylist eval`` scores them (fused label of the
    best item, top-5 majority), and the fused label accuracy of found items / exact-product Recall@10 on val
    composites, cluttered and catalogue boards (``training.tune_wild``'s samples)."""
    from training.data.wild_boxes import load_wild_boxes
    from training.eval_wild import eval_real_photos, match_boxes
    from training.tune_wild import _samples

    records = [r for r in load_wild_boxes(root, boxes_cache, progress, ("val",)) if r["split"] == "val"]
    real = eval_real_photos(stylist, records[:sizes["photos"]], progress, keep_examples=0)
    real.pop("_examples", None)
    out: dict = {"real": {k: real[k] for k in ("photos", "label_accuracy", "top5_majority", "detector_label_accuracy")}}
    labels: dict[str, list[bool]] = {}
    r10: dict[str, list[bool]] = {}
    for kind, img, truths in tqdm(list(_samples(root, boxes_cache, {**sizes, "photos": 0}, imgsz, seed)),
                                  desc="val boards", disable=not progress):
        dets = stylist.detect_items(img)
        for t, m in zip(truths, match_boxes([t["box"] for t in truths], [d.box for d in dets])):
            if m >= 0:
                labels.setdefault(kind, []).append(dets[m].label == t["category"])
                if t.get("product_id"):
                    ids = [p.id for p in stylist.search_item(img, dets[m], None, top_k=10).products]
                    r10.setdefault(kind, []).append(t["product_id"] in ids)
    for kind in labels:
        out[kind] = {"items": len(labels[kind]), "label_accuracy": float(np.mean(labels[kind])),
                     "recall_at_10": float(np.mean(r10[kind])) if r10.get(kind) else None}
    return out


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, photos=500)
    p.add_argument("--study-only", action="store_true")
    p.add_argument("--product", action="store_true", help="only run the shipped pipeline on val (product_check)")
    p.add_argument("--composites", type=int, default=72)
    p.add_argument("--boards", type=int, default=75)
    args = p.parse_args(argv)
    from stylist.config import load_config
    from training.data.wild_boxes import load_wild_boxes
    from training.tune_wild import val_stylist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config()
    stylist, class_vectors = val_stylist(config)
    if args.product:
        sizes = {"photos": args.photos, "composites": args.composites, "boards": args.boards}
        res = product_check(stylist, Path(args.data), config.cache_dir / "wild-boxes-val.jsonl", sizes, config.imgsz)
        (out / "product.json").write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))
        return 0
    ev = out / "evidence.pkl"
    if not args.study_only:
        from training.tune_wild import _samples

        cache = config.cache_dir / "wild-boxes-val.jsonl"
        records = [r for r in load_wild_boxes(Path(args.data), cache, True, ("val",)) if r["split"] == "val"]
        sizes = {"photos": 0, "composites": args.composites, "boards": args.boards}
        rows = collect(stylist, [*real_samples(records[:args.photos]),
                                 *_samples(Path(args.data), cache, sizes, config.imgsz, 5)])
        ev.write_bytes(pickle.dumps({"rows": rows, "class_vectors": class_vectors}))
    rows = pickle.loads(ev.read_bytes())["rows"]
    res = study(rows, class_vectors)
    res["context_top"] = context_study(rows, class_vectors)[:20]
    (out / "views.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
