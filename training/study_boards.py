"""Why the detector misses items on cluttered style boards: a per-item diagnosis on the VALIDATION split.

    python -m training.study_boards --out DIR [--boards 150] [--pictures 12] [--seed 0] [--wild --photos 300 --composites 200]

Renders the val cluttered boards (``training.data.wild.render_clutter``), serves each through the product's
detector (``Stylist.detector``: thresholds, NMS, whole-garment boxes) and looks at the network's raw
candidates (every anchor above 0.001, before confidence and NMS, at the serving size). Each true item the
served boxes miss (IoU < 0.5, greedy matching as ``training.eval_wild``) gets a cause:

- ``not proposed``: no candidate box matches it (IoU ≥ 0.5) above 0.05;
- ``low score``: the best matching candidate scores 0.05 … conf (with the item check on: … its ``propose``);
- ``not kept``: with the item check on, it scores ``propose`` … conf and was not served;
- ``suppressed``: a matching candidate reaches conf but a served box that overlaps it took its place
  (``merged`` when that box also covers a neighbour, else ``nms``);
- ``dropped``: a matching candidate reaches conf and nothing served overlaps it (the "part" rule, max_det,
  the whole-garment box).

Each false positive: ``distractor`` (on a pasted distractor), ``duplicate`` (a second box on a found item),
``part`` (inside one item), ``merged`` (covers two items or more), or ``other`` (text, logos, background).
Writes ``study.json`` (counts, per-class and per-size tables, every miss) and PNGs of the worst boards.
With ``--wild``, also the val split's ``stylist eval --only wild`` parts (``training.eval_wild``): the same
boards searched (fused label, item Recall@10), ``--photos`` real val photos and ``--composites`` composites,
so a change for boards is checked where it must not move anything.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from stylist.metrics import box_iou
from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

RAW_FLOOR = 0.001
LOW = 0.05


def inside(a, b) -> float:
    """Share of box ``a`` lying inside box ``b``."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / max(1e-9, (a[2] - a[0]) * (a[3] - a[1]))


def raw_candidates(detector, img) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every anchor's box (in the photo's pixels), best-class score and class above ``RAW_FLOOR``."""
    inner = getattr(detector, "inner", detector)
    cand = inner.candidates(img, RAW_FLOOR)
    gx, gy, px, py = cand.frame
    b = cand.boxes.copy()
    b[:, [0, 2]] = (b[:, [0, 2]] - px) / gx
    b[:, [1, 3]] = (b[:, [1, 3]] - py) / gy
    return b, cand.score, cand.classes


def miss_cause(t: list, truths: list, dets: list, raw: tuple, conf: float, propose: float = 0.0) -> tuple[str, float, int]:
    """(cause, best raw score of a matching candidate, its class id) for a missed true box ``t``; with
    ``propose`` > 0 (the item check on), a candidate between ``propose`` and ``conf`` that is not served was
    ``not kept`` (refused by the check, or the picture was not taken for a board)."""
    boxes, score, cls = raw
    ious = np.array([box_iou(t, b) for b in boxes]) if len(boxes) else np.zeros(0)
    ok = ious >= 0.5
    best = float(score[ok].max()) if ok.any() else 0.0
    best_cls = int(cls[ok][np.argmax(score[ok])]) if ok.any() else -1
    if best < LOW:
        return "not proposed", best, best_cls
    if best <= (propose or conf):
        return "low score", best, best_cls
    if best <= conf:
        return "not kept", best, best_cls
    over = [d for d in dets if box_iou(t, d.box) > 0.1 or inside(t, d.box) > 0.3]
    if not over:
        return "dropped", best, best_cls
    others = [u for u in truths if u is not t]
    covers_two = any(sum(inside(u, d.box) >= 0.5 for u in [t, *others]) >= 2 for d in over)
    return ("merged" if covers_two else "nms"), best, best_cls


def fp_cause(d, truths: list, matched: list[int], j: int, distractors: list) -> str:
    if any(box_iou(d.box, b) >= 0.3 or inside(d.box, b) >= 0.6 for b in distractors):
        return "distractor"
    if any(box_iou(d.box, t) >= 0.5 and m >= 0 and m != j for t, m in zip(truths, matched)):
        return "duplicate"
    if sum(inside(t, d.box) >= 0.5 for t in truths) >= 2:
        return "merged"
    if any(inside(d.box, t) >= 0.6 for t in truths):
        return "part"
    return "other"


def draw(img, truths, dets, matched, out: Path) -> None:
    """Truth boxes green (found) / red (missed), served boxes blue (matched) / orange (false positives)."""
    from PIL import ImageDraw

    im = img.copy()
    d = ImageDraw.Draw(im)
    for t, m in zip(truths, matched):
        d.rectangle(t["box"], outline=(20, 170, 60) if m >= 0 else (230, 30, 30), width=3)
        d.text((t["box"][0] + 3, t["box"][1] + 2), t["category"], fill=(230, 30, 30) if m < 0 else (20, 120, 40))
    used = set(matched)
    for j, det in enumerate(dets):
        c = (40, 90, 230) if j in used else (255, 140, 0)
        d.rectangle(det.box, outline=c, width=1)
        d.text((det.box[0] + 3, det.box[3] - 12), f"{det.label} {det.score:.2f}", fill=c)
    im.save(out)


def study(stylist: Stylist, src, n: int, imgsz: int, out: Path, seed: int = 0, pictures: int = 12) -> dict:
    from training.data.wild import render_clutter
    from training.eval_wild import match_boxes

    conf = getattr(stylist.detector, "conf", 0.25)
    propose = getattr(stylist.detector, "propose", 0.0) if getattr(stylist.detector, "check", None) is not None else 0.0
    classes = getattr(stylist.detector, "classes", ())
    misses, fps, found, per_board = [], [], [], []
    worst = []
    n_true = n_pred = 0
    for k in tqdm(range(n), desc="val boards", unit="board"):
        img, rec = render_clutter(src, "val", imgsz, np.random.default_rng([seed, 78, k]))
        truths = rec["boxes"]
        dets = stylist.detector.detect(img)
        raw = raw_candidates(stylist.detector, img)
        tb = [t["box"] for t in truths]
        matched = match_boxes(tb, [d.box for d in dets])
        n_true += len(truths)
        n_pred += len(dets)
        W, H = img.size
        for i, (t, m) in enumerate(zip(truths, matched)):
            others = [u for u in tb if u is not t["box"]]
            row = {"board": k, "class": t["category"], "area": (t["box"][2] - t["box"][0]) * (t["box"][3] - t["box"][1]) / (W * H),
                   "max_iou_other": max([box_iou(t["box"], u) for u in others], default=0.0),
                   "covered": max([inside(t["box"], u) for u in others], default=0.0),
                   "grey": rec.get("background") == "grey"}
            if m >= 0:
                found.append(row)
                continue
            cause, best, best_cls = miss_cause(t["box"], tb, dets, raw, conf, propose)
            row.update(cause=cause, best_raw=best, best_raw_class=classes[best_cls] if 0 <= best_cls < len(classes) else "")
            misses.append(row)
        used = set(matched)
        for j, d in enumerate(dets):
            if j not in used:
                fps.append({"board": k, "cause": fp_cause(d, tb, matched, j, rec.get("distractors", [])),
                            "label": d.label, "score": d.score})
        worst.append((sum(m < 0 for m in matched) + len(dets) - len(used), k, img, truths, dets, matched))
        per_board.append((len(truths), sum(m >= 0 for m in matched), len(dets)))
    worst.sort(key=lambda w: -w[0])
    pics = out / "boards"
    pics.mkdir(parents=True, exist_ok=True)
    for _, k, img, truths, dets, matched in worst[:pictures]:
        draw(img, truths, dets, matched, pics / f"val-board-{k:03d}.png")
    return {**summarise(found, misses, fps, n_true, n_pred), "halves": halves(per_board, seed)}


def halves(per_board: list[tuple[int, int, int]], seed: int = 0) -> list[dict]:
    """Recall and precision on two random halves of the boards (``per_board``: items, found, served boxes), so
    a change is seen to hold on both."""
    order = np.random.default_rng([seed, 5]).permutation(len(per_board))
    out = []
    for part in (order[: len(order) // 2], order[len(order) // 2:]):
        items, hit, served = (sum(per_board[i][j] for i in part) for j in range(3))
        out.append({"boards": len(part), "recall": round(hit / max(1, items), 4), "precision": round(hit / max(1, served), 4)})
    return out


def summarise(found: list[dict], misses: list[dict], fps: list[dict], n_true: int, n_pred: int) -> dict:
    def bucket(a: float) -> str:
        return "<1%" if a < 0.01 else "1-2%" if a < 0.02 else "2-4%" if a < 0.04 else "4-8%" if a < 0.08 else ">=8%"

    def table(key) -> dict:
        out = {}
        for b in sorted({key(r) for r in found + misses}):
            f = sum(key(r) == b for r in found)
            m = sum(key(r) == b for r in misses)
            out[b] = {"items": f + m, "recall": round(f / (f + m), 3)}
        return out

    tp = len(found)
    return {"items": n_true, "predictions": n_pred, "recall": tp / max(1, n_true), "precision": tp / max(1, n_pred),
            "miss_causes": dict(Counter(r["cause"] for r in misses).most_common()),
            "fp_causes": dict(Counter(r["cause"] for r in fps).most_common()),
            "fp_labels": dict(Counter(r["label"] for r in fps).most_common()),
            "by_class": table(lambda r: r["class"]), "by_size": table(lambda r: bucket(r["area"])),
            "by_overlap": table(lambda r: "covered>=30%" if r["covered"] >= 0.3 else "covered 5-30%" if r["covered"] >= 0.05 else "apart"),
            "by_background": table(lambda r: "grey" if r["grey"] else "white"),
            "misses": misses, "false_positives": fps}


def wild(stylist: Stylist, src, records: list[dict], args, imgsz: int) -> dict:
    """The wild eval's parts on the val split: boards (the study's boards), real photos, composites."""
    from training.eval_wild import eval_clutter_boards, eval_composites, eval_real_photos

    out = {"boards": eval_clutter_boards(stylist, src, args.boards, imgsz, args.seed, split="val")}
    if args.photos:
        photos = [r for r in records if r["split"] == "val"]
        rng = np.random.default_rng(args.seed)
        if len(photos) > args.photos:
            photos = [photos[i] for i in sorted(rng.choice(len(photos), args.photos, replace=False))]
        real = eval_real_photos(stylist, photos)
        out["real"] = {k: v for k, v in real.items() if not k.startswith("_") and k != "per_garment_type"}
    if args.composites:
        out["composites"] = eval_composites(stylist, src, args.composites, imgsz, args.seed, split="val")
    return out


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=0, boards=150, pictures=12, photos=0, composites=0)
    p.add_argument("--wild", action="store_true", help="also the val wild eval's parts (module doc)")
    args = p.parse_args(argv)
    from stylist.config import load_config
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources
    from training.data.wild_boxes import load_wild_boxes
    from training.tune_wild import val_stylist

    config = load_config()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(args.data)
    records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", True, ("val",))
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    stylist, _ = val_stylist(config)
    result = study(stylist, src, args.boards, config.imgsz, out, args.seed, args.pictures)
    if args.wild:
        result["wild"] = wild(stylist, src, records, args, config.imgsz)
    (out / "study.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k not in ("misses", "false_positives", "by_class", "by_size")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
