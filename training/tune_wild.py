"""Choose the label-fusion weights and the visual blend on the VALIDATION split (never test).

Collects, per item the detector found on validation images (real CC0 photos, composites on real
backgrounds, cluttered boards, catalogue-style boards), every piece of evidence the search has — the
detector's class and score, the embedder's category head, the autoencoder (AE) and CLIP-image neighbours
with their similarities in both spaces — once, then replays the decisions offline for every weight:

* labels: accuracy of ``stylist.labels.fuse`` per weight combination;
* ranking: Recall@10 of the exact product (composites, boards) and top-5 majority category (real photos)
  for the AE cosine blended with the CLIP image cosine (``stylist.rerank.blend_visual``), with and without
  the crop's CLIP neighbours added to the candidates, and a soft boost for the fused class.

    python -m training.tune_wild --out /tmp/tune [--photos 300 --composites 150 --boards 75]
    python -m training.tune_wild --out /tmp/tune --study-only --namer NEW.pt   # a retrained namer, same evidence

Writes ``evidence.pkl`` (reused by ``--study-only``) and ``study.json``.
"""
from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from stylist.schema import CLASSES
from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

SUBSETS = ("real", "composite", "clutter", "catalog")


def _samples(root: Path, boxes_cache: Path, sizes: dict, imgsz: int, seed: int):
    """(kind, image, truths) for the validation split; truths = [{category, box, product_id}] (real: box None)."""
    from training.data.boards import load_board_sources, render_layout_board, render_outfit_board
    from training.data.wild import load_wild_sources, render_clutter, render_composite
    from training.data.wild_boxes import load_wild_boxes

    records = load_wild_boxes(root, boxes_cache, True, ("val",))
    boards = load_board_sources(root, True, False)
    src = load_wild_sources(root, records, boards)
    rng = np.random.default_rng(seed)
    photos = [r for r in records if r["split"] == "val"]
    if len(photos) > sizes["photos"]:
        photos = [photos[i] for i in sorted(rng.choice(len(photos), sizes["photos"], replace=False))]
    for rec in photos:
        yield "real", rec["path"], [{"category": rec["category"], "box": None, "product_id": None,
                                     "garment": rec["garment"]}]
    for k in range(sizes["composites"]):
        img, rec = render_composite(src, "val", imgsz, np.random.default_rng([seed, 91, k]), n_items=1)
        yield "composite", img, rec["boxes"]
    for k in range(sizes["boards"]):
        img, rec = render_clutter(src, "val", imgsz, np.random.default_rng([seed, 92, k]))
        yield "clutter", img, rec["boxes"]
    for k in range(sizes["boards"]):
        r = np.random.default_rng([seed, 93, k])
        img, rec = (render_layout_board if k % 3 else render_outfit_board)(boards, "val", imgsz, r)
        yield "catalog", img, rec["boxes"]


def collect(stylist: Stylist, samples, pool: int = 100, progress: bool = True) -> list[dict]:
    """One row per (detected) item: truth, detector class/score, head probabilities, AE and CLIP neighbours
    (ids, categories, similarity in both spaces) of the item's crop."""
    from stylist.images import item_crop
    from stylist.store import CLIP, VISUAL
    from training.val_evidence import ValPicture, collect_rows, crop_evidence, jpeg

    indexed = set(stylist.store.fingerprints())

    def rows_of(pic: ValPicture) -> list[dict]:
        pairs = [(t, pic.detections[m] if m is not None else None) for t, m in pic.items]
        if not pairs:
            return []
        crops = [item_crop(pic.img, d.box if d is not None else None) for _, d in pairs]
        ev = crop_evidence(stylist, crops, pool)
        whole = _whole_photo(stylist, pic.img) if len(pic.detections) == 1 else None
        rows = []
        for (t, d), a, c, h, ah, ch, nm, crop in zip(pairs, ev.ae, ev.clip, ev.heads, ev.ae_hits, ev.clip_hits,
                                                     ev.namer, crops):
            ids = list(dict.fromkeys([x.id for x in ah] + [x.id for x in ch]))
            cats = {x.id: str(x.meta.get("category") or "") for x in [*ch, *ah]}
            ae_sim = stylist.store.vectors(VISUAL, ids) @ a
            cl_sim = stylist.store.vectors(CLIP, ids) @ c
            pid = t.get("product_id")
            rows.append({
                "kind": pic.kind, "truth": t["category"], "garment": t.get("garment", ""),
                "product": pid if pid in indexed else None, "detected": d is not None,
                "det_label": d.label if d is not None else "", "det_score": d.score if d is not None else 0.0,
                "head": h, "clip_vec": c.astype(np.float32), "namer": nm, "crop": jpeg(crop),
                "ae_ids": [x.id for x in ah], "cl_ids": [x.id for x in ch],
                "ids": ids, "cats": [cats[i] for i in ids],
                "ae_sim": ae_sim.astype(np.float32), "cl_sim": cl_sim.astype(np.float32), "whole": whole})
        return rows

    return collect_rows(stylist, samples, rows_of, "val evidence", progress)


def add_namer(rows: list[dict], namer, batch: int = 64) -> None:
    """Fill each row's "namer" probabilities from its kept crop (and its views' crops, in study_views rows)."""
    import io

    from PIL import Image

    slots = [(r, "namer") for r in rows if "crop" in r]
    slots += [(v, "namer") for r in rows for v in r.get("views", {}).values() if "crop" in v]
    for i in tqdm(range(0, len(slots), batch), desc="namer", unit="batch"):
        part = slots[i:i + batch]
        probs = namer.probs([Image.open(io.BytesIO(d["crop"])).convert("RGB") for d, _ in part])
        for (d, key), p in zip(part, probs):
            d[key] = np.asarray(p, np.float64)


def _whole_photo(stylist, img, k: int = 10) -> dict:
    """The whole image's label evidence (head, CLIP vector, AE and CLIP neighbours' classes and similarities)."""
    from stylist.labels import head_probs
    from stylist.store import CLIP, VISUAL

    a = stylist.embedder.embed([img])
    c = stylist.clip.embed_images([img])
    ah, ch = stylist.store.query(VISUAL, a[0], k), stylist.store.query(CLIP, c[0], k)
    return {"head": head_probs(stylist.embedder, a, CLASSES)[0], "clip_vec": c[0],
            "ae": [(str(x.meta.get("category") or ""), x.similarity) for x in ah],
            "cl": [(str(x.meta.get("category") or ""), x.similarity) for x in ch]}


# --- offline replays ----------------------------------------------------------------------------------------
def label_sources(row: dict, class_vectors: np.ndarray, k: int = 10, scale: float | None = None) -> dict:
    """Each source's probability vector for one evidence row (as stylist.labels computes them)."""
    from stylist.labels import ZERO_SHOT_SCALE, detector_probs, neighbour_probs, zero_shot_probs

    pos = {i: j for j, i in enumerate(row["ids"])}
    ae = [pos[i] for i in row["ae_ids"][:k]]
    cl = [pos[i] for i in row["cl_ids"][:k]]
    return {"detector": detector_probs(row["det_label"], row["det_score"], CLASSES) if row["detected"] else None,
            "head": row["head"],
            "neighbours": neighbour_probs([row["cats"][j] for j in ae], [row["ae_sim"][j] for j in ae], CLASSES, k),
            "clip_neighbours": neighbour_probs([row["cats"][j] for j in cl], [row["cl_sim"][j] for j in cl], CLASSES, k),
            "zero_shot": zero_shot_probs(row["clip_vec"][None], class_vectors, scale or ZERO_SHOT_SCALE)[0],
            "namer": row.get("namer")}


def _log_smoothed(p: np.ndarray | None) -> np.ndarray:
    """log of ``stylist.labels._smooth(p)``; zeros (no vote at all) for a missing source."""
    from stylist.labels import _smooth

    return np.zeros(len(CLASSES)) if p is None else np.log(_smooth(p))


def label_study(rows: list[dict], class_vectors: np.ndarray, grid=(0.0, 0.5, 1.0, 2.0)) -> list[dict]:
    """Accuracy per subset of every weight combination (items with a detection, as the eval scores them):
    ``stylist.labels.fuse``'s argmax of Σ w · log p, computed for all items at once."""
    rows = [r for r in rows if r["detected"]]
    names = ("detector", "head", "neighbours", "clip_neighbours", "zero_shot")
    names += ("namer",) if any(r.get("namer") is not None for r in rows) else ()  # when the bundle has one
    srcs = [label_sources(r, class_vectors) for r in rows]
    logs = np.stack([np.stack([_log_smoothed(s[n]) for s in srcs]) for n in names])  # sources × items × classes
    truth = np.array([CLASSES.index(r["truth"]) for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    out = []
    for w in itertools.product(grid, repeat=len(names)):
        if not any(w):
            continue
        right = np.tensordot(np.asarray(w), logs, axes=1).argmax(1) == truth
        acc = {s: float(right[kinds == s].mean()) if (kinds == s).any() else float("nan") for s in SUBSETS}
        out.append({"weights": list(w), **acc, "mean": float(np.nanmean(list(acc.values())))})
    out.sort(key=lambda r: (-r["mean"], sum(x > 0 for x in r["weights"])))
    return out


def rank_row(row: dict, blend: float, widen: bool, kind_boost: float, fused: str, pool: int = 100) -> list[int]:
    """Positions (into row["ids"]) of the top 10 after the visual blend; the candidates are the AE top
    ``pool`` (plus the CLIP top ``pool`` when ``widen``)."""
    from stylist.rerank import blend_visual

    n_ae = len(dict.fromkeys(row["ae_ids"][:pool]))
    cand = np.arange(len(row["ids"])) if widen else np.arange(n_ae)
    score = blend_visual(row["ae_sim"][cand], row["cl_sim"][cand], blend)
    if kind_boost and fused:
        spread = max(float(score.std()), 0.02)
        score = score + kind_boost * spread * np.array([row["cats"][j] == fused for j in cand], float)
    return [int(cand[j]) for j in np.argsort(-score, kind="stable")[:10]]


def rank_study(rows: list[dict], fused: list[str], blends=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0),
               boosts=(0.0, 0.5, 1.0, 2.0)) -> list[dict]:
    from training.eval_wild import majority

    out = []
    for blend, widen, boost in itertools.product(blends, (False, True), boosts):
        res: dict[str, list[bool]] = {"real_top5": [], "composite_r10": [], "clutter_r10": [], "catalog_r10": []}
        for r, f in zip(rows, fused):
            top = rank_row(r, blend, widen, boost, f)
            if r["kind"] == "real":
                res["real_top5"].append(majority([r["cats"][j] for j in top[:5]]) == r["truth"])
            elif r["product"]:
                res[f"{r['kind']}_r10"].append(r["product"] in {r["ids"][j] for j in top})
        out.append({"blend": blend, "widen": widen, "kind_boost": boost,
                    **{k: float(np.mean(v)) if v else float("nan") for k, v in res.items()}})
    return out


def val_stylist(config):
    """The search on the CTL index `stylist eval` built (not rebuilt), and CLIP's zero-shot class vectors: what
    the validation studies (this one, training.study_views) replay evidence against."""
    from stylist.labels import ZERO_SHOT_PROMPT
    from stylist.search import Stylist
    from training.eval_search import eval_config

    stylist = Stylist.from_config(eval_config(config, "eval-ctl"))
    return stylist, stylist.clip.embed_texts([ZERO_SHOT_PROMPT.format(c.lower()) for c in CLASSES])


def _current(n: int) -> list[float]:
    """The shipped ``stylist.labels.WEIGHTS`` as a label_study weight row (its first ``n`` sources)."""
    from stylist.labels import WEIGHTS

    names = ("detector", "head", "neighbours", "clip_neighbours", "zero_shot", "namer")
    return [float(getattr(WEIGHTS, k)) for k in names[:n]]


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=5, photos=300, composites=150, boards=75)
    p.add_argument("--study-only", action="store_true")
    p.add_argument("--namer", default="", help="garment-namer weights whose guesses replace the kept ones "
                   "(from the evidence's crops): choose the weights for a retrained namer without collecting again")
    args = p.parse_args(argv)
    from stylist.config import load_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config()
    root = Path(args.data)
    ev = out / "evidence.pkl"
    stylist, class_vectors = val_stylist(config)
    if not args.study_only:
        sizes = {"photos": args.photos, "composites": args.composites, "boards": args.boards}
        rows = collect(stylist, _samples(root, config.cache_dir / "wild-boxes-val.jsonl", sizes, config.imgsz, args.seed))
        ev.write_bytes(pickle.dumps(rows))
    rows = pickle.loads(ev.read_bytes())
    if args.namer:
        from stylist.models.namer import load_namer

        add_namer(rows, load_namer(config, args.namer))
    labels = label_study(rows, class_vectors)
    from stylist.labels import FusionWeights, fuse

    best = FusionWeights(*labels[0]["weights"])
    fused = [fuse(CLASSES, weights=best, **label_sources(r, class_vectors)).label for r in rows]
    study = {"items": {k: sum(r["kind"] == k for r in rows) for k in SUBSETS}, "labels_top": labels[:15],
             "labels_alone": [r for r in labels if sum(x > 0 for x in r["weights"]) == 1 and max(r["weights"]) == 1.0],
             "labels_current": next(r for r in labels if r["weights"] == _current(len(labels[0]["weights"]))),
             "rank": rank_study(rows, fused)}
    (out / "study.json").write_text(json.dumps(study, indent=1))
    print(json.dumps({k: study[k] for k in ("items", "labels_current")}, indent=1))
    for r in labels[:8]:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
