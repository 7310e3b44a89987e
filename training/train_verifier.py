"""Train the item check (``stylist.verify``): is a detector box a catalogue item, or a distractor / a part?

    python -m training.train_verifier --out runs/verifier [--export stylist/weights/item-check.json]

The detector is served at a low confidence so the items it is unsure of on cluttered boards (small,
overlapped, on grey) are proposed; the check then keeps the boxes whose crop looks like an item. Its input is
what the search computes for every crop anyway — the CLIP image vector — plus the detector's score (as a
logit) and, with ``--places``, where the box lies among the picture's boxes (``stylist.verify.layout``); the
model is a logistic regression (260 weights), trained with L2 on the TRAIN split and its threshold chosen on
the VALIDATION split (never test). ``--add-rows`` adds the train rows of another run (another ``--seed``).

Training boxes: every box the bundled detector serves (``Stylist.detector`` without the check, at
``--conf``) on train-split images — cluttered boards (unlabelled distractors: FPI non-apparel, drawn
cosmetics, text, logos), clean catalogue boards, catalogue items on real floors/beds (composites) and real
CC0 photos (their GrabCut box as the truth). A box matching a true item (IoU ≥ 0.5, greedy, best score
first, as ``training.eval_wild``) is positive; every other box is negative (a distractor, a part, a second
box on an item, text). Writes ``rows-<split>.pkl`` (reused unless ``--recollect``), ``study.json`` (val
recall/precision per threshold and conf) and, with ``--export``, the weights with the chosen threshold.
"""
from __future__ import annotations

import argparse
import itertools
import json
import pickle
from pathlib import Path

import numpy as np
from tqdm import tqdm

KINDS = ("clutter", "board", "composite", "photo")


def samples(root: Path, records: list[dict], split: str, n: int, imgsz: int, seed: int):
    """(kind, image, truth boxes) of ``split``: ``n`` cluttered boards and n/2 each of clean boards,
    composites and real photos."""
    from PIL import Image

    from training.data.boards import load_board_sources, render_layout_board
    from training.data.wild import load_wild_sources, render_clutter, render_composite

    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    salt = {"train": 0, "val": 1}[split]
    for k in range(n):
        img, rec = render_clutter(src, split, imgsz, np.random.default_rng([seed, 300 + salt, k]))
        yield "clutter", img, [b["box"] for b in rec["boxes"]]
    for k in range(n // 2):
        img, rec = render_layout_board(src.boards, split, imgsz, np.random.default_rng([seed, 310 + salt, k]))
        yield "board", img, [b["box"] for b in rec["boxes"]]
    for k in range(n // 2):
        img, rec = render_composite(src, split, imgsz, np.random.default_rng([seed, 320 + salt, k]))
        yield "composite", img, [b["box"] for b in rec["boxes"]]
    photos = [r for r in records if r["split"] == split]
    rng = np.random.default_rng([seed, 330 + salt])
    for i in rng.permutation(len(photos))[: n // 2]:
        with Image.open(photos[i]["path"]) as im:
            yield "photo", im.convert("RGB"), [photos[i]["box"]]


def collect(stylist, items, progress: bool = True) -> tuple[list[dict], dict]:
    """One row per served box: kind, image number and size, box, truth (matched), score, rank, CLIP vector; and
    true items per kind. The rows of one image are consecutive, best first (``features`` reads their layout)."""
    from stylist.images import item_crop
    from training.eval_wild import match_boxes

    rows, truths = [], {k: 0 for k in KINDS}
    for image, (kind, img, boxes) in enumerate(tqdm(items, desc="boxes", unit="img", disable=not progress)):
        dets = stylist.detector.detect(img)
        truths[kind] += len(boxes)
        if not dets:
            continue
        matched = set(match_boxes(boxes, [d.box for d in dets]))
        vecs = stylist.clip.embed_images([item_crop(img, d.box) for d in dets])
        for j, (d, v) in enumerate(zip(dets, vecs)):
            rows.append({"kind": kind, "image": image, "size": img.size, "box": tuple(float(x) for x in d.box),
                         "item": j in matched, "score": float(d.score), "rank": j, "clip": v.astype(np.float32)})
    return rows, truths


def features(rows: list[dict], places: tuple[str, ...] = ()) -> np.ndarray:
    """``stylist.verify.features`` of each row, with the ``places`` inputs of its box's ``layout`` among the
    boxes of its picture (the rows of one picture are consecutive, best first)."""
    from stylist.verify import LAYOUT, features as served_features, layout

    chosen = None
    if places:
        cols = [LAYOUT.index(p) for p in places]
        groups = [list(g) for _, g in itertools.groupby(rows, key=lambda r: (r["kind"], r["image"]))]
        chosen = np.concatenate([layout([r["box"] for r in g], g[0]["size"])[:, cols] for g in groups])
    return served_features(np.stack([r["clip"] for r in rows]), np.array([r["score"] for r in rows]), chosen)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 300) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (full-batch L-BFGS)."""
    import torch

    torch.manual_seed(0)
    X = torch.tensor(x, dtype=torch.float64)
    Y = torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, Y)
        loss = loss + l2 * (w[1:] ** 2).sum()  # the score's own weight (feature 0) is not shrunk
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def measure(rows: list[dict], truths: dict, keep: np.ndarray) -> dict:
    """Recall/precision of the kept boxes per kind (photos: share with ≥ 1 kept box is not measured here)."""
    out = {}
    for kind in KINDS:
        idx = [i for i, r in enumerate(rows) if r["kind"] == kind]
        tp = sum(bool(keep[i]) and rows[i]["item"] for i in idx)
        n = int(sum(bool(keep[i]) for i in idx))
        out[kind] = {"recall": round(tp / max(1, truths[kind]), 4), "precision": round(tp / max(1, n), 4)}
    return out


def study(rows: list[dict], truths: dict, probs: np.ndarray) -> list[dict]:
    """Val recall/precision per (conf floor, threshold); the best box of each image is always kept."""
    scores = np.array([r["score"] for r in rows])
    first = np.array([r["rank"] == 0 for r in rows])
    out = [{"conf": c, "threshold": None, **measure(rows, truths, scores > c)} for c in (0.05, 0.1, 0.15, 0.2, 0.25)]
    for conf in (0.05, 0.08, 0.1, 0.12, 0.15):
        for t in np.round(np.arange(0.1, 0.71, 0.05), 2):
            keep = (scores > conf) & ((probs >= t) | first)
            out.append({"conf": conf, "threshold": float(t), **measure(rows, truths, keep)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--boxes", default="", help="GrabCut box records of the CC0 photos, all splits (jsonl)")
    p.add_argument("--train", type=int, default=600, help="cluttered train boards (n/2 of each other kind)")
    p.add_argument("--val", type=int, default=150)
    p.add_argument("--conf", type=float, default=0.05, help="detector confidence the rows are collected at")
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--pick-conf", type=float, default=0.1)
    p.add_argument("--pick-threshold", type=float, default=0.5)
    p.add_argument("--export", default="")
    p.add_argument("--recollect", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--places", default="inside_better,holds,log_area",
                   help="stylist.verify.LAYOUT inputs the check reads (comma-separated; empty: none)")
    p.add_argument("--add-rows", action="append", default=[], help="more train rows (rows-train.pkl of another run)")
    a = p.parse_args(argv)
    from stylist.config import load_config
    from training.data.wild_boxes import load_wild_boxes
    from training.tune_wild import val_stylist

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config().replace(detect_conf=a.conf, detect_verify=0, detect_whole_garment=0)
    root = Path(a.data)
    data = {}
    for split, n in (("train", a.train), ("val", a.val)):
        path = out / f"rows-{split}.pkl"
        if path.is_file() and not a.recollect:
            data[split] = pickle.loads(path.read_bytes())
            continue
        stylist = val_stylist(config)[0]
        cache = Path(a.boxes) if a.boxes else config.cache_dir / f"wild-boxes-{split}.jsonl"
        records = load_wild_boxes(root, cache, True, (split,))
        data[split] = collect(stylist, samples(root, records, split, n, config.imgsz, a.seed))
        path.write_bytes(pickle.dumps(data[split]))
    (tr, _), (va, va_truths) = data["train"], data["val"]
    for extra in a.add_rows:
        tr = tr + pickle.loads(Path(extra).read_bytes())[0]
    places = tuple(x for x in a.places.split(",") if x)
    x_tr = features(tr, places)  # before leaving rows out: a box's layout is among all its picture's boxes
    use = np.array([r["kind"] != "photo" or r["item"] for r in tr])  # a photo's other boxes: often its garment's parts
    tr = [r for r, u in zip(tr, use) if u]
    w, b = fit(x_tr[use], np.array([r["item"] for r in tr], dtype=np.float64), a.l2)
    probs = 1 / (1 + np.exp(-(features(va, places) @ w + b)))
    table = study(va, va_truths, probs)
    (out / "study.json").write_text(json.dumps({"train_rows": len(tr), "val_rows": len(va), "val_truths": va_truths,
                                                "table": table}, indent=1))
    for row in table:
        if row["threshold"] in (None, a.pick_threshold) or row["conf"] == a.pick_conf:
            print(row)
    if a.export:
        from stylist.verify import save_check

        pick = next(r for r in table if r["conf"] == a.pick_conf and r["threshold"] == a.pick_threshold)
        from stylist.models.registry import detector_weights
        from stylist.models.runtime import file_key

        weights = detector_weights(config)
        save_check(Path(a.export), w, b, a.pick_threshold, a.pick_conf, config.clip_model,
                   {"train_rows": len(tr), "val": pick}, places, file_key(weights) if weights else "")
        print("exported", a.export)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
