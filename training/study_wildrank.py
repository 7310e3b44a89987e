"""Evidence for ranking a photographed item's candidates (TRAIN split to fit, VALIDATION split to choose; never test).

Renders held-out CTL products composited onto real backgrounds (``training.data.wild.render_composite``, as
``stylist eval --only wild`` does on test) and real CC0 photos, runs the search up to its candidates
(``Stylist.detect_items`` -> ``CandidateFinder.gather`` -> ``CandidateFinder.visual``) and keeps, per item:
the candidates the search ranks (ids, in order), the fused label, whether it was judged one photographed
garment, and the AE / CLIP vectors of several views of its crop (as it is, on white, flipped, a looser and a
tighter box). ``training.fit_wildrank`` replays and fits the ranking from these offline.

    python -m training.study_wildrank --out DIR --split val --composites 200 --photos 250
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

AE_VIEWS = ("raw", "white", "flip", "flip_white", "loose", "loose_white", "tight", "tight_white")
CLIP_VIEWS = ("raw", "white", "flip", "loose", "tight")


def views(img: Image.Image, box, found) -> dict[str, Image.Image]:
    """The item's crop as the search cuts it, flipped, from a box 15 % larger and 10 % smaller, each also on
    white when the photo's backdrop is a photographed surface."""
    from stylist.garment_box import on_white
    from stylist.images import item_crop
    from stylist.labels import expand_box

    out = {"raw": item_crop(img, box), "loose": item_crop(img, expand_box(box, 1.15, img.size)),
           "tight": item_crop(img, expand_box(box, 0.9, img.size))}
    out["flip"] = ImageOps.mirror(out["raw"])
    if found is not None and found.photographed:
        for name in ("raw", "loose", "tight"):
            out[f"{name}_white" if name != "raw" else "white"] = on_white(out[name], found)
        out["flip_white"] = ImageOps.mirror(out["white"])
    return out


def item_row(stylist: Stylist, img: Image.Image, det) -> dict:
    """What the search holds for ``det`` before ranking, and the views' vectors."""
    from stylist.garment_box import backdrop_of
    from stylist.query import parse_query

    cand = stylist.candidates.gather(img, [det], stylist.config.candidates)[0]
    hits, _, prefer = stylist.candidates.visual(cand, 10, parse_query(None), "full", False, 10)
    found = backdrop_of(img)
    crops = views(img, det.box, found)
    ae_names = [v for v in AE_VIEWS if v in crops]
    cl_names = [v for v in CLIP_VIEWS if v in crops]
    ae = stylist.embedder.embed([crops[v] for v in ae_names])
    cl = stylist.clip.embed_images([crops[v] for v in cl_names])
    lab = cand.label
    return {"ids": [h.id for h in hits], "sims": np.array([h.similarity for h in hits], np.float32),
            "prefer": list(prefer), "whole_photo": bool(cand.detection.whole_photo),
            "photographed": bool(found is not None and found.photographed), "white": "white" in crops,
            "label": lab.label if lab else "", "confidence": float(lab.confidence) if lab else 0.0,
            "runner_up": lab.runner_up if lab else "", "runner_up_confidence": float(lab.runner_up_confidence) if lab else 0.0,
            "shown_kinds": list(cand.shown_kinds), "ae_item": np.asarray(cand.vector, np.float32),
            "clip_item": None if cand.clip_vector is None else np.asarray(cand.clip_vector, np.float32),
            "ae": {v: np.asarray(a, np.float32) for v, a in zip(ae_names, ae)},
            "clip": {v: np.asarray(c, np.float32) for v, c in zip(cl_names, cl)}}


def collect_composites(stylist: Stylist, src, split: str, n: int, imgsz: int, seed: int) -> list[dict]:
    from training.eval_wild import boxing, composite_pictures

    indexed = set(stylist.store.fingerprints())
    src.items[split] = [(q, c) for q, c in src.items[split] if Path(q).stem in indexed]
    rows = []
    for k, img, truth in composite_pictures(src, split, n, imgsz, seed, desc=f"{split} composites"):
        dets = stylist.detect_items(img)
        j = boxing(truth["box"], dets)
        row = {"k": k, "product": truth["product_id"], "category": truth["category"], "boxed": j is not None}
        if j is not None:
            row.update(item_row(stylist, img, dets[j]))
        rows.append(row)
    return rows


def collect_photos(stylist: Stylist, records: list[dict]) -> list[dict]:
    from training.eval_wild import photo_pictures

    rows = []
    for rec, img, dets in photo_pictures(stylist, records, desc="photos"):
        row = {"category": rec["category"], "garment": rec["garment"], "boxed": bool(dets)}
        if dets:
            row.update(item_row(stylist, img, dets[0]))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=3, composites=200, photos=0)
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument("--boxes", default="", help="box records of the CC0 photos (JSON lines) when not the home's cache")
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
    cat = out.parent / "catalogue.npz"
    if not cat.is_file():
        meta = stylist.store.all_metadata()
        ids = sorted(meta)
        np.savez(cat, ids=np.array(ids), A=stylist.store.vectors(VISUAL, ids), C=stylist.store.vectors(CLIP, ids),
                 cats=np.array([str(meta[i].get("category") or "") for i in ids]),
                 colors=np.array([str(meta[i].get("color") or "") for i in ids]),
                 conf=np.array([float(meta[i].get("color_confidence", 1.0)) for i in ids]))
    root = Path(args.data)
    cache = Path(args.boxes) if args.boxes else config.cache_dir / f"wild-boxes-{args.split}.jsonl"
    records = load_wild_boxes(root, cache, True, (args.split,))
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    if args.composites:
        rows = collect_composites(stylist, src, args.split, args.composites, config.imgsz, args.seed)
        (out / "composites.pkl").write_bytes(pickle.dumps(rows))
    if args.photos:
        photos = [r for r in records if r["split"] == args.split]
        pick = sorted(np.random.default_rng(args.seed).choice(len(photos), min(args.photos, len(photos)), replace=False))
        (out / "photos.pkl").write_bytes(pickle.dumps(collect_photos(stylist, [photos[i] for i in pick])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
