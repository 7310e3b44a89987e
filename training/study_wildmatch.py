"""Why an exact product is missed on a photo of it in the world (VALIDATION split, never test).

Renders held-out CTL products composited onto real backgrounds (``training.data.wild.render_composite``, as
``stylist eval --only wild`` does on test) and, per composite, records:

* the box: the detector's own boxes, the whole-garment box (``stylist.garment_box``) and what became of the
  best box, each classed against the truth (boxed at IoU >= 0.5, too small = a part, too big, off, nothing);
* the retrieval: the true product's rank by AE and by CLIP over the whole catalogue, in the candidate pool
  and after the search's ranking (``Stylist.search_item``), for the detected box and for the truth box, with
  the crop as it is and with its background painted white (``stylist.garment_box.on_white``).

Then replays the ranking offline (the search's kind rule, the AE/CLIP blend) for every variant, pool size
and blend, so one collection answers which stage loses the product and what would bring it back.

With ``--boxes N`` only the box question, fast (no embedding, no search): N composites' detector boxes, the
one-object box (``stylist.garment_box.backdrop``) and the served boxes, and for the unboxed ones what the
served box was and what decided it (``box_causes``), with a sheet of them drawn (``box_misses.png``).

    python -m training.study_wildmatch --out DIR [--composites 150] [--study-only] [--boxes 300]
"""
from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stylist.metrics import box_iou
from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

VARIANTS = ("det", "det_white", "truth", "truth_white")


def box_verdict(truth, box) -> str:
    """boxed / part (mostly inside the truth) / too big (holds the truth) / off / nothing."""
    if box is None:
        return "nothing"
    if box_iou(truth, box) >= 0.5:
        return "boxed"
    inter = max(0.0, min(truth[2], box[2]) - max(truth[0], box[0])) * max(0.0, min(truth[3], box[3]) - max(truth[1], box[1]))
    area = lambda b: max(1e-9, (b[2] - b[0]) * (b[3] - b[1]))  # noqa: E731
    if inter / area(box) >= 0.7:
        return "part"
    if inter / area(truth) >= 0.7:
        return "too big"
    return "off"


def box_row(stylist: Stylist, img, truth: dict) -> dict:
    """One composite's boxes: the detector's own (``raw``), the one-object box (``object``) and the served
    detections (``served``), with the best served box's IoU and verdict against the truth."""
    from stylist.garment_box import backdrop

    inner = getattr(stylist.detector, "inner", stylist.detector)
    raw = [d.box for d in inner.detect(img)]
    found = backdrop(img)
    served = [d.box for d in stylist.detect_items(img)]
    best = max(served, key=lambda b: box_iou(truth["box"], b), default=None)
    return {"truth_box": truth["box"], "category": truth["category"], "size": img.size, "raw": raw,
            "object": found.box if found is not None else None, "served": served,
            "iou": box_iou(truth["box"], best) if best else 0.0, "verdict": box_verdict(truth["box"], best)}


def box_causes(rows: list[dict]) -> dict:
    """For the unboxed composites (served IoU < 0.5): the served box's verdict, and what decided it — no
    detection and no object (``none``), the detector's box kept (``detector``), a detector box that held the
    item but was replaced by the object's box (``object replaced a good box``), or the object's box served
    when the detector held nothing better (``object``)."""
    miss = [r for r in rows if r["iou"] < 0.5]
    out: dict = {"n": len(rows), "boxed": float(np.mean([r["iou"] >= 0.5 for r in rows])) if rows else 0.0,
                 "unboxed": len(miss), "verdict": {}, "decided_by": {}}
    for r in miss:
        out["verdict"][r["verdict"]] = out["verdict"].get(r["verdict"], 0) + 1
        raw_ok = any(box_iou(r["truth_box"], b) >= 0.5 for b in r["raw"])
        served_object = r["object"] is not None and any(box_iou(r["object"], b) > 0.99 for b in r["served"])
        cause = ("none" if not r["served"] else "object replaced a good box" if raw_ok and served_object
                 else "object" if served_object else "detector")
        out["decided_by"][cause] = out["decided_by"].get(cause, 0) + 1
    return out


def box_study(stylist: Stylist, src, n: int, imgsz: int, seed: int, out: Path) -> dict:
    """``box_row`` for ``n`` val composites (the eval's seeds); ``box_causes`` and a sheet of the first 24 misses
    (truth green, served blue, object red)."""
    from PIL import Image, ImageDraw

    from training.eval_wild import composite_pictures

    rows, sheet = [], []
    for k, img, truth in composite_pictures(src, "val", n, imgsz, seed, desc="val composites (boxes)"):
        rows.append({"k": k, **box_row(stylist, img, truth)})
        r = rows[-1]
        if r["iou"] < 0.5 and len(sheet) < 24:
            draw = ImageDraw.Draw(img)
            for boxes, colour in (([r["truth_box"]], "lime"), (r["served"], "blue"), ([r["object"]] if r["object"] else [], "red")):
                for b in boxes:
                    draw.rectangle(b, outline=colour, width=3)
            draw.text((4, 4), f"#{k} {r['verdict']}", fill="yellow")
            img.thumbnail((200, 200))
            sheet.append(img)
    if sheet:
        page = Image.new("RGB", (6 * 200, -(-len(sheet) // 6) * 200), "white")
        for i, im in enumerate(sheet):
            page.paste(im, ((i % 6) * 200, (i // 6) * 200))
        page.save(out / "box_misses.png")
    (out / "boxes.pkl").write_bytes(pickle.dumps(rows))
    return box_causes(rows)


def collect(stylist: Stylist, src, n: int, imgsz: int, seed: int, cat_ids: list[str]) -> list[dict]:
    from stylist.garment_box import backdrop, on_white
    from stylist.images import item_crop
    from training.eval_wild import composite_pictures

    pos = {i: j for j, i in enumerate(cat_ids)}
    inner = getattr(stylist.detector, "inner", stylist.detector)
    rows = []
    for k, img, truth in composite_pictures(src, "val", n, imgsz, seed, desc="val composites"):
        if truth["product_id"] not in pos:
            continue
        raw = inner.detect(img)
        found = backdrop(img)
        dets = stylist.detect_items(img)
        best_raw = max(raw, key=lambda d: box_iou(truth["box"], d.box), default=None)
        j = int(np.argmax([box_iou(truth["box"], d.box) for d in dets])) if dets else -1
        det = dets[j] if j >= 0 and box_iou(truth["box"], dets[j].box) >= 0.5 else None
        row = {"k": k, "product": truth["product_id"], "category": truth["category"], "truth_box": truth["box"],
               "size": img.size, "n_raw": len(raw), "raw_first": box_verdict(truth["box"], raw[0].box if raw else None),
               "raw_best": box_verdict(truth["box"], best_raw.box if best_raw else None),
               "garment_box": box_verdict(truth["box"], found.box if found and found.box else None),
               "final_first": box_verdict(truth["box"], dets[0].box if dets else None),
               "final_best": box_verdict(truth["box"], dets[j].box if j >= 0 else None),
               "label": det.label if det else (dets[0].label if dets else ""),
               "whole_photo": bool(det.whole_photo) if det else False, "backdrop": found is not None,
               "raw_boxes": [d.box for d in raw], "found": found}
        if det is not None:  # the eval's question (top 10: the page size also steers the kind rule)
            ids = [p.id for p in stylist.search_item(img, det, None, top_k=10).products]
            row["pipeline_rank"] = ids.index(truth["product_id"]) if truth["product_id"] in ids else 999
            row["kind"] = stylist.candidates.gather(img, [det], 10)[0].kind
        crops = {}
        if det is not None:
            crops["det"] = item_crop(img, det.box)
        crops["truth"] = item_crop(img, tuple(truth["box"]))
        if found is not None:
            for name in list(crops):
                crops[f"{name}_white"] = on_white(crops[name], found)
        names = list(crops)
        ae = stylist.embedder.embed([crops[c] for c in names])
        cl = stylist.clip.embed_images([crops[c] for c in names])
        row["vectors"] = {c: (a.astype(np.float32), v.astype(np.float32)) for c, a, v in zip(names, ae, cl)}
        row["thumbs"] = {c: crops[c].copy().resize((96, round(96 * crops[c].height / max(1, crops[c].width))))
                         for c in names if c in ("det", "det_white", "truth_white")}
        rows.append(row)
    return rows


def collect_photos(stylist: Stylist, records: list[dict]) -> list[dict]:
    """Real CC0 photos: the search's fused label and top-5 categories, and the best item's crop vectors."""
    from stylist.garment_box import backdrop, on_white
    from stylist.images import item_crop
    from training.eval_wild import _product_category, majority, photo_pictures

    rows = []
    for rec, img, dets in photo_pictures(stylist, records, desc="val photos"):
        best = dets[0] if dets else None
        top5 = [_product_category(p) for p in stylist.search_item(img, best, None, top_k=5).products]
        row = {"category": rec["category"], "label": best.label if best else "", "top5_right": majority(top5) == rec["category"],
               "kind": stylist.candidates.gather(img, [best], 10)[0].kind if best else [],
               "whole_photo": bool(best and best.whole_photo), "backdrop": False, "vectors": {}}
        if best is not None:
            found = backdrop(img)
            crops = {"det": item_crop(img, best.box)}
            if found is not None:
                row["backdrop"] = True
                crops["det_white"] = on_white(crops["det"], found)
            names = list(crops)
            ae = stylist.embedder.embed([crops[c] for c in names])
            cl = stylist.clip.embed_images([crops[c] for c in names])
            row["vectors"] = {c: (a.astype(np.float32), v.astype(np.float32)) for c, a, v in zip(names, ae, cl)}
        rows.append(row)
    return rows


def replay(row: dict, variant: str, A: np.ndarray, C: np.ndarray, cats: np.ndarray, t: int, pool: int,
           blend: float, kind_rule: bool = True, clip_variant: str | None = None, others: int = 2,
           margin: float = 0.0, top: bool = False):
    """The true product's rank after the search's ranking, replayed (kind rule, blend, kind boost); with
    ``top`` the first 10 positions instead. ``margin``: other kinds within this AE cosine of the best
    candidate are kept as well."""
    from stylist.rerank import KIND_BOOST, blend_visual

    a = row["vectors"][variant][0]
    c = row["vectors"][clip_variant or variant][1]
    ae = A @ a
    order = np.argsort(-ae, kind="stable")
    cand = order[:pool]
    kind = (row["kind"] or [""])[0] if "kind" in row else row["label"]
    if kind_rule and row["whole_photo"] and kind:
        same = cand[cats[cand] == kind]
        if len(same) < 10:
            filt = order[cats[order] == kind][:pool]
            same = np.array(list(dict.fromkeys([*same, *filt])))
        other = cand[cats[cand] != kind]
        other = other[(np.arange(len(other)) < others) | (ae[other] >= ae[cand[0]] - margin)]
        cand = np.concatenate([same, other]) if len(same) >= 10 else cand
    score = blend_visual(ae[cand], C[cand] @ c, blend)
    if kind:
        spread = max(float(score.std()), 0.02)
        score = score + spread * KIND_BOOST * (cats[cand] == kind)
    ranked = cand[np.argsort(-score, kind="stable")]
    if top:
        return ranked[:10]
    hit = np.flatnonzero(ranked == t)
    return int(hit[0]) if hit.size else 999


def study(rows: list[dict], A: np.ndarray, C: np.ndarray, cats: np.ndarray, cat_ids: list[str]) -> dict:
    pos = {i: j for j, i in enumerate(cat_ids)}
    out: dict = {"n": len(rows)}
    for key in ("raw_first", "raw_best", "garment_box", "final_first", "final_best"):
        out[f"box_{key}"] = {v: sum(r[key] == v for r in rows) for v in ("boxed", "part", "too big", "off", "nothing")}
    out["boxed_share"] = float(np.mean([r["final_best"] == "boxed" for r in rows]))
    out["backdrop_found"] = float(np.mean([r["backdrop"] for r in rows]))
    det = [r for r in rows if "pipeline_rank" in r]
    out["pipeline_r10_of_boxed"] = float(np.mean([r["pipeline_rank"] < 10 for r in det]))
    out["pipeline_r1_of_boxed"] = float(np.mean([r["pipeline_rank"] < 1 for r in det]))
    stages = {}
    for v in VARIANTS:
        have = [r for r in (det if v.startswith("det") else rows) if v in r["vectors"]]
        ae_rank = [int((A @ r["vectors"][v][0] > A[pos[r["product"]]] @ r["vectors"][v][0]).sum()) for r in have]
        cl_rank = [int((C @ r["vectors"][v][1] > C[pos[r["product"]]] @ r["vectors"][v][1]).sum()) for r in have]
        stages[v] = {"n": len(have), **{f"ae_in_{p}": float(np.mean([x < p for x in ae_rank])) for p in (10, 100, 200, 400)},
                     **{f"clip_in_{p}": float(np.mean([x < p for x in cl_rank])) for p in (10, 100)}}
    out["stages"] = stages
    grid = []
    for v, cv, pool, blend, rule in itertools.product(VARIANTS, (None, "raw"), (100, 200, 400), (0.4, 0.6, 0.8, 1.0),
                                                   (True, False)):
        clip_v = v.replace("_white", "") if cv == "raw" else None
        if cv == "raw" and not v.endswith("_white"):
            continue
        have = [r for r in (det if v.startswith("det") else rows) if v in r["vectors"]]
        ranks = [replay(r, v, A, C, cats, pos[r["product"]], pool, blend, rule, clip_v) for r in have]
        grid.append({"variant": v, "clip_of": clip_v or v, "pool": pool, "blend": blend, "kind_rule": rule,
                     "n": len(have), "r1": float(np.mean([x < 1 for x in ranks])), "r10": float(np.mean([x < 10 for x in ranks]))})
    out["replay"] = grid
    return out


def contact_sheet(rows: list[dict], out: Path, n: int = 20, cols: int = 2) -> Path | None:
    """The first ``n`` misses (not boxed, or boxed and not in the top 10), each as three crops: the searched
    box, it on white, the truth box on white; captioned with the box verdict and the product's rank."""
    from PIL import Image, ImageDraw

    miss = [r for r in rows if r.get("pipeline_rank", 999) >= 10][:n]
    if not miss:
        return None
    cell, cap = 110, 14
    width = 3 * cell + 10
    sheet = Image.new("RGB", (cols * width, -(-len(miss) // cols) * (cell + cap)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(miss):
        x, y = (i % cols) * width, (i // cols) * (cell + cap)
        for col, key in enumerate(("det", "det_white", "truth_white")):
            im = r["thumbs"].get(key)
            if im is not None:
                im = im.copy()
                im.thumbnail((cell - 4, cell - 4))
                sheet.paste(im, (x + col * cell, y + cap))
        rank = r.get("pipeline_rank")
        draw.text((x + 2, y), f"#{r['k']} {r['category'][:14]} box:{r['final_best']} "
                  f"rank:{'>10' if rank == 999 else rank if rank is not None else '-'} kind:{(r.get('kind') or ['?'])[0][:10]}",
                  fill="black")
    sheet.save(out)
    return out


def val_pipeline(stylist: Stylist, src, records: list[dict], sizes: dict, seed: int) -> dict:
    """``stylist eval --only wild``'s three parts, as the search does them now, on VALIDATION images."""
    import dataclasses

    from training.eval_wild import eval_clutter_boards, eval_composites, eval_real_photos

    val = dataclasses.replace(src, items={**src.items, "test": src.items["val"]}, photos={**src.photos, "test": src.photos["val"]})
    photos = [r for r in records if r["split"] == "val"]
    pick = sorted(np.random.default_rng(seed).choice(len(photos), min(sizes["photos"], len(photos)), replace=False))
    out = {}
    if sizes["photos"]:
        real = eval_real_photos(stylist, [photos[i] for i in pick])
        out["real"] = {k: real[k] for k in ("photos", "detected", "label_accuracy", "top5_majority")}
    if sizes["composites"]:
        out["composites"] = eval_composites(stylist, val, sizes["composites"], 512, seed)
    if sizes["boards"]:
        boards = eval_clutter_boards(stylist, val, sizes["boards"], 512, seed)
        out["boards"] = {k: v for k, v in boards.items() if not k.startswith("_")}
    return out


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=3, composites=150, photos=0)
    p.add_argument("--study-only", action="store_true")
    p.add_argument("--boxes", type=int, default=0, help="only the box question, on this many composites (fast)")
    p.add_argument("--pipeline", type=str, default="", help="PHOTOS,COMPOSITES,BOARDS: the eval's numbers on val instead")
    args = p.parse_args(argv)
    from stylist.config import load_config
    from stylist.store import CLIP, VISUAL
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources
    from training.data.wild_boxes import load_wild_boxes
    from training.tune_wild import val_stylist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config()
    stylist, _ = val_stylist(config)
    meta = stylist.store.all_metadata()
    cat_ids = sorted(meta)
    A, C = stylist.store.vectors(VISUAL, cat_ids), stylist.store.vectors(CLIP, cat_ids)
    cats = np.array([str(meta[i].get("category") or "") for i in cat_ids])
    ev = out / "evidence.pkl"
    if args.pipeline:
        root = Path(args.data)
        records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", True, ("val",))
        src = load_wild_sources(root, records, load_board_sources(root, False, False))
        sizes = dict(zip(("photos", "composites", "boards"), (int(x) for x in args.pipeline.split(","))))
        res = val_pipeline(stylist, src, records, sizes, args.seed)
        print(json.dumps(res, indent=1))
        (out / "pipeline.json").write_text(json.dumps(res, indent=1))
        return 0
    if args.boxes:
        root = Path(args.data)
        records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", True, ("val",))
        src = load_wild_sources(root, records, load_board_sources(root, False, False))
        src.items["val"] = [(q, c) for q, c in src.items["val"] if Path(q).stem in meta]
        res = box_study(stylist, src, args.boxes, config.imgsz, args.seed, out)
        print(json.dumps(res, indent=1))
        (out / "boxes.json").write_text(json.dumps(res, indent=1))
        return 0
    if not args.study_only:
        root = Path(args.data)
        records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", True, ("val",))
        src = load_wild_sources(root, records, load_board_sources(root, False, False))
        src.items["val"] = [(q, c) for q, c in src.items["val"] if Path(q).stem in meta]
        if args.composites:
            rows = collect(stylist, src, args.composites, config.imgsz, args.seed, cat_ids)
            ev.write_bytes(pickle.dumps(rows))
        if args.photos:
            photos = [r for r in records if r["split"] == "val"]
            pick = np.random.default_rng(args.seed).choice(len(photos), min(args.photos, len(photos)), replace=False)
            (out / "photos.pkl").write_bytes(pickle.dumps(collect_photos(stylist, [photos[i] for i in sorted(pick)])))
    rows = pickle.loads(ev.read_bytes())
    res = study(rows, A, C, cats, cat_ids)
    (out / "study.json").write_text(json.dumps(res, indent=1))
    contact_sheet(rows, out / "misses.png")
    print(json.dumps({k: v for k, v in res.items() if k != "replay"}, indent=1))
    best = sorted(res["replay"], key=lambda g: -g["r10"])
    for g in [g for g in res["replay"] if g["pool"] == 100 and g["blend"] == 0.6 and g["kind_rule"]] + best[:12]:
        print(g)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
