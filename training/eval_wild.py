"""``stylist eval`` section "in the wild": real photos, catalog items on real backgrounds, cluttered boards.

All held-out (test split of ``training.data.splits.split_of``), searched through the real pipeline
(``Stylist`` on the CTL catalog index the search evaluation builds):

1. **Real photos**: CC0 test-split photos of one garment (bed, floor, hanger). Share with ≥ 1 detection; fused
   label of the best (highest-scoring) item right (and, as a second number, the whole photo's fused label
   standing in when nothing is detected); majority category of the top-5 products right (the
   whole photo is searched when nothing is found, as the bot does); all per garment type.
2. **Composites**: one held-out CTL product on a held-out real background (border of a test photo), shadowed,
   relit, rotated. The detection matching its box (IoU ≥ 0.5) is searched: Recall@1/@10 of the exact product
   (a miss counts as a failure).
3. **Cluttered boards**: held-out layouts and products with unlabelled distractors (cosmetics, belts, socks,
   text, logos, watermarks; grey backgrounds). Class-agnostic detection recall/precision at IoU 0.5 (greedy
   one-to-one matching, best score first), fused label accuracy of found items, end-to-end item Recall@10.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.metrics import box_iou
from stylist.query import category_of
from stylist.schema import CLASSES

if TYPE_CHECKING:
    from stylist.search import Stylist

TARGETS = {"real.detected": 0.95, "real.label_accuracy": 0.85, "real.top5_majority": 0.85,
           "boards.recall": 0.95, "boards.precision": 0.90, "boards.label_accuracy": 0.90,
           "boards.item_recall_at_10": 0.93, "composites.recall_at_10": 0.80}
FULL = {"photos": 460, "composites": 300, "boards": 150}
QUICK = {"photos": 40, "composites": 30, "boards": 15}


def share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else float("nan")


def majority(labels: list[str]) -> str:
    """The commonest non-empty label (ties: the first to reach the top count), '' when none."""
    labels = [x for x in labels if x]
    if not labels:
        return ""
    counts = Counter(labels)
    top = max(counts.values())
    return next(x for x in labels if counts[x] == top)


def match_boxes(truths: list, preds: list, min_iou: float = 0.5) -> list[int]:
    """Greedy one-to-one matching, ``preds`` in the given (score) order: index of the pred matched to each
    truth, -1 for a truth nobody matched."""
    taken: set[int] = set()
    matched = [-1] * len(truths)
    for j, p in enumerate(preds):
        best, best_iou = -1, min_iou
        for i, t in enumerate(truths):
            if matched[i] < 0:
                iou = box_iou(t, p)
                if iou >= best_iou:
                    best, best_iou = i, iou
        if best >= 0:
            matched[best] = j
            taken.add(j)
    return matched


def _product_category(p) -> str:
    return category_of(p.category) or p.category


def _whole_photo_label(stylist, img) -> str:
    """The fused class of the whole photo (no detector vote): what the search takes the photo for when the
    detector finds nothing."""
    cand = stylist.candidates.gather(img, [None], stylist.candidates.namer.k)[0]
    return cand.label.label if cand.label is not None else ""


def _detector_label(d) -> str:
    return getattr(d, "detector_label", "") or d.label


# --- 1. real photos ---------------------------------------------------------------------------------------
def photo_pictures(stylist: Stylist, records: list[dict], desc: str = "wild photos", progress: bool = True):
    """The real photos the eval scores (the val studies pass val records): ``(record, picture, detections)``,
    detected as the search serves them (``Stylist.detect_items``, best first)."""
    for rec in tqdm(records, desc=desc, unit="photo", disable=not progress):
        img = stylist.load_image(rec["path"])
        yield rec, img, stylist.detect_items(img)


def eval_real_photos(stylist: Stylist, records: list[dict], progress: bool = True, keep_examples: int = 24) -> dict:
    rows, examples = [], []
    for rec, img, dets in photo_pictures(stylist, records, progress=progress):
        best = dets[0] if dets else None
        res = stylist.search_item(img, best, None, top_k=5)
        top5 = [_product_category(p) for p in res.products]
        whole = best.label if best else _whole_photo_label(stylist, img)
        row = {"garment": rec["garment"], "category": rec["category"], "detected": bool(dets),
               "label": best.label if best else "", "detector_label": _detector_label(best) if best else "",
               "label_right": bool(best) and best.label == rec["category"], "photo_label_right": whole == rec["category"],
               "detector_label_right": bool(best) and _detector_label(best) == rec["category"],
               "top5_right": majority(top5) == rec["category"]}
        rows.append(row)
        if len(examples) < keep_examples:
            examples.append((img, dets, res.products, rec))
    per_type: dict[str, dict] = {}
    for g in sorted({r["garment"] for r in rows}):
        rs = [r for r in rows if r["garment"] == g]
        per_type[g] = {"n": len(rs), "class": rs[0]["category"], "detected": share([r["detected"] for r in rs]),
                       "label_accuracy": share([r["label_right"] for r in rs]),
                       "top5_majority": share([r["top5_right"] for r in rs])}
    return {"photos": len(rows), "detected": share([r["detected"] for r in rows]),
            "label_accuracy": share([r["label_right"] for r in rows]),
            "detector_label_accuracy": share([r["detector_label_right"] for r in rows]),
            "photo_label_accuracy": share([r["photo_label_right"] for r in rows]),
            "top5_majority": share([r["top5_right"] for r in rows]),
            "confusions": dict(Counter(f"{r['category']} -> {r['label'] or 'nothing'}" for r in rows
                                       if not r["label_right"]).most_common(8)),
            "per_garment_type": per_type, "_examples": examples}


# --- 2. composites ----------------------------------------------------------------------------------------
def composite_pictures(src, split: str, n: int, imgsz: int, seed: int, desc: str = "wild composites",
                       progress: bool = True):
    """The composites the eval scores (its seeds; the val studies draw the same ones on val): ``(k, picture,
    truth)`` for each of ``n`` that holds a pasted product."""
    from training.data.wild import render_composite

    for k in tqdm(range(n), desc=desc, unit="img", disable=not progress):
        img, rec = render_composite(src, split, imgsz, np.random.default_rng([seed, 77, k]), n_items=1)
        if rec["boxes"]:
            yield k, img, rec["boxes"][0]


def boxing(truth_box, detections) -> int | None:
    """Which detection boxes the item: the best IoU with ``truth_box`` when it reaches 0.5, else None."""
    ious = [box_iou(truth_box, d.box) for d in detections]
    j = int(np.argmax(ious)) if ious else -1
    return j if j >= 0 and ious[j] >= 0.5 else None


def eval_composites(stylist: Stylist, src, n: int, imgsz: int, seed: int = 0, progress: bool = True,
                    split: str = "test") -> dict:
    """One held-out CTL product per composite (products not in the index are skipped); ``split`` "val" tunes."""
    indexed = set(stylist.store.fingerprints())
    src_ctl = [(p, c) for p, c in src.items[split] if Path(p).stem in indexed]
    if not src_ctl:
        return {"skipped": "no held-out catalog product is in the index"}
    items = src.items
    src.items = {**items, split: src_ctl}
    r1, r10, found = [], [], []
    try:
        for _, img, truth in composite_pictures(src, split, n, imgsz, seed, progress=progress):
            dets = stylist.detect_items(img)
            j = boxing(truth["box"], dets)
            if j is None:
                found.append(False)
                r1.append(False)
                r10.append(False)
                continue
            found.append(True)
            ids = [p.id for p in stylist.search_item(img, dets[j], None, top_k=10).products]
            r1.append(ids[:1] == [truth["product_id"]])
            r10.append(truth["product_id"] in ids)
    finally:
        src.items = items
    return {"composites": len(r10), "detected": share(found), "recall_at_1": share(r1), "recall_at_10": share(r10)}


# --- 3. cluttered boards ------------------------------------------------------------------------------
def eval_clutter_boards(stylist: Stylist, src, n: int, imgsz: int, seed: int = 0, progress: bool = True,
                        split: str = "test") -> dict:
    from training.data.wild import render_clutter

    indexed = set(stylist.store.fingerprints())
    tp = n_pred = n_true = 0
    labels, own_labels, hits = [], [], []
    for k in tqdm(range(n), desc="wild boards", unit="board", disable=not progress):
        rng = np.random.default_rng([seed, 78, k])
        img, rec = render_clutter(src, split, imgsz, rng)
        dets = stylist.detect_items(img)
        truths = rec["boxes"]
        matched = match_boxes([t["box"] for t in truths], [d.box for d in dets])
        n_true += len(truths)
        n_pred += len(dets)
        tp += sum(m >= 0 for m in matched)
        for t, m in zip(truths, matched):
            if m >= 0:
                labels.append(dets[m].label == t["category"])
                own_labels.append(_detector_label(dets[m]) == t["category"])
            if t["product_id"] in indexed:
                if m < 0:
                    hits.append(False)
                    continue
                ids = [p.id for p in stylist.search_item(img, dets[m], None, top_k=10).products]
                hits.append(t["product_id"] in ids)
    return {"boards": n, "items": n_true, "recall": tp / n_true if n_true else float("nan"),
            "precision": tp / n_pred if n_pred else float("nan"), "label_accuracy": share(labels),
            "detector_label_accuracy": share(own_labels),
            "item_recall_at_10": share(hits), "searched_items": len(hits)}


# --- picture ----------------------------------------------------------------------------------------------
def wild_picture(examples: list, out: Path, n: int = 24, cols: int = 4) -> Path | None:
    """Each real photo with its boxes and fused labels (green = right class) and its top-5 products."""
    from PIL import ImageDraw

    from stylist.draw import font as _font

    def _thumb(im: Image.Image, side: int) -> Image.Image:
        im = im.convert("RGB").copy()
        im.thumbnail((side, side))
        canvas = Image.new("RGB", (side, side), "white")
        canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
        return canvas

    if not examples:
        return None
    side, thumb = 220, 64
    cell_w, cell_h = max(side, 5 * thumb) + 8, side + thumb + 30
    rows = (min(n, len(examples)) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font = _font(11)
    for k, (img, dets, products, rec) in enumerate(examples[:n]):
        x, y = (k % cols) * cell_w, (k // cols) * cell_h
        shown = img.copy()
        d = ImageDraw.Draw(shown)
        for det in dets[:3]:
            colour = (20, 170, 60) if det.label == rec["category"] else (220, 40, 40)
            d.rectangle(det.box, outline=colour, width=max(2, img.width // 100))
            d.text((det.box[0] + 3, det.box[1] + 2), f"{det.label} ({_detector_label(det)})", fill=colour,
                   font=_font(max(11, img.width // 24)))
        sheet.paste(_thumb(shown, side), (x + 4, y + 2))
        for j, p in enumerate(products[:5]):
            try:
                with Image.open(p.image) as pim:
                    t = _thumb(pim, thumb)
            except OSError:
                t = Image.new("RGB", (thumb, thumb), (230, 230, 230))
            ok = _product_category(p) == rec["category"]
            ImageDraw.Draw(t).rectangle([0, 0, thumb - 1, thumb - 1], outline=(20, 170, 60) if ok else (220, 40, 40), width=2)
            sheet.paste(t, (x + 4 + j * thumb, y + side + 4))
        found = dets[0].label if dets else "nothing found (whole photo)"
        draw.text((x + 4, y + side + thumb + 8), f"{rec['garment']} -> {found}", fill=(0, 0, 0), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


# --- entry point ------------------------------------------------------------------------------------------
def evaluate_wild(stylist: Stylist, root: Path, boxes_cache: Path, out_dir: Path | None = None, quick: bool = False,
                  seed: int = 0, imgsz: int = 512, progress: bool = True, sizes: dict | None = None,
                  splits: tuple[str, ...] | None = ("test",)) -> dict:
    """All three parts on ``stylist`` (a Stylist on the CTL index); the picture goes to ``out_dir``."""
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources
    from training.data.wild_boxes import load_wild_boxes

    sizes = {**(QUICK if quick else FULL), **(sizes or {})}
    records = load_wild_boxes(root, boxes_cache, progress, splits)
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    test = [r for r in records if r["split"] == "test"]
    rng = np.random.default_rng(seed)
    if len(test) > sizes["photos"]:
        test = [test[i] for i in sorted(rng.choice(len(test), sizes["photos"], replace=False))]
    out = {"real": eval_real_photos(stylist, test, progress),
           "composites": eval_composites(stylist, src, sizes["composites"], imgsz, seed, progress),
           "boards": eval_clutter_boards(stylist, src, sizes["boards"], imgsz, seed, progress)}
    examples = out["real"]["_examples"]
    if out_dir is not None:
        pic = wild_picture(examples, Path(out_dir) / "wild_photos.png")
        out["picture"] = pic.name if pic else None
    out["targets"] = TARGETS
    return out


def flat_checks(result: dict) -> list[tuple[str, str, float | None, float | None]]:
    """(key, label, value, target) rows for the eval table."""
    labels = {
        "real.detected": "wild: real photos with ≥ 1 detection",
        "real.label_accuracy": "wild: real photos, fused label of best item right",
        "real.detector_label_accuracy": "wild: real photos, detector's own label right",
        "real.photo_label_accuracy": "wild: real photos, fused label right (whole photo when nothing found)",
        "real.top5_majority": "wild: real photos, top-5 majority category right",
        "composites.recall_at_1": "wild: composites item Recall@1",
        "composites.recall_at_10": "wild: composites item Recall@10",
        "boards.recall": "wild: cluttered boards detection recall (IoU 0.5)",
        "boards.precision": "wild: cluttered boards detection precision",
        "boards.label_accuracy": "wild: cluttered boards fused label accuracy",
        "boards.detector_label_accuracy": "wild: cluttered boards detector's own label accuracy",
        "boards.item_recall_at_10": "wild: cluttered boards item Recall@10",
    }
    rows = []
    for key, label in labels.items():
        part, name = key.split(".")
        value = (result.get(part) or {}).get(name)
        rows.append((f"wild.{key}", label, value, TARGETS.get(key)))
    return rows


# --- which evidence names items best (chooses stylist.labels.FusionWeights) ---------------------------------
def collect_evidence(stylist: Stylist, samples: list[tuple[Image.Image, list[dict]]], k: int = 10) -> list[dict]:
    """Per detected true item (IoU ≥ 0.5, best score first): each source's probability vector and the truth."""
    from stylist.images import crop_box
    from stylist.labels import detector_probs, head_probs, neighbour_probs
    from stylist.images import CROP_PAD
    from stylist.store import VISUAL

    rows = []
    for img, truths in tqdm(samples, desc="label evidence", unit="img"):
        dets = stylist.detector.detect(img)
        matched = match_boxes([t["box"] for t in truths], [d.box for d in dets])
        pairs = [(t, dets[m]) for t, m in zip(truths, matched) if m >= 0]
        if not pairs:
            continue
        vecs = stylist.embedder.embed([crop_box(img, d.box, CROP_PAD) for _, d in pairs])
        heads = head_probs(stylist.embedder, vecs, CLASSES)
        for (t, d), v, h in zip(pairs, vecs, heads):
            hits = stylist.store.query(VISUAL, v, k)
            near = neighbour_probs([category_of(str(x.meta.get("category") or "")) for x in hits],
                                   [x.similarity for x in hits], CLASSES, k)
            rows.append({"truth": t["category"], "detector": detector_probs(d.label, d.score, CLASSES),
                         "head": h, "neighbours": near})
    return rows


def fusion_study(rows: list[dict], grid: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)) -> dict:
    """Label accuracy of every weight combination on ``rows``; the best first (ties: simpler = fewer sources)."""
    from stylist.labels import FusionWeights, fuse

    results = []
    for wd in grid:
        for wh in grid:
            for wn in grid:
                if wd == wh == wn == 0:
                    continue
                w = FusionWeights(wd, wh, wn)
                right = [fuse(CLASSES, r["detector"], r["head"], r["neighbours"], w).label == r["truth"] for r in rows]
                results.append({"weights": [wd, wh, wn], "accuracy": share(right)})
    results.sort(key=lambda r: (-r["accuracy"], sum(x > 0 for x in r["weights"])))
    alone = {name: next((r["accuracy"] for r in results if r["weights"] == w), None)
             for name, w in (("detector", [1.0, 0.0, 0.0]), ("head", [0.0, 1.0, 0.0]), ("neighbours", [0.0, 0.0, 1.0]),
                             ("equal", [1.0, 1.0, 1.0]))}
    return {"items": len(rows), "alone": alone, "best": results[:5]}
