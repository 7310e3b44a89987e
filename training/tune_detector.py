"""Choose the detector's serving settings on the VALIDATION split (never test): confidence, NMS IoU and the
second chance for photos where nothing reaches the confidence threshold.

    python -m training.tune_detector --out runs/tune-detector.json [--weights CANDIDATE.pt]

One network pass per image (the ONNX export of the weights, as served), then every setting is applied to
the stored candidates in numpy (``OnnxDetector.select``). Measured per setting:

- real CC0 val photos: share with ≥ 1 detection, and share whose best box matches the photo's GrabCut box
  (IoU ≥ 0.5) — a second-chance box must be the garment, not any box;
- val cluttered boards (unlabelled distractors) and val clean catalog boards: class-agnostic detection
  recall and precision at IoU 0.5, greedy one-to-one matching as ``training.eval_wild``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import pickle
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stylist.config import load_config
from stylist.metrics import box_iou

GRID = {"conf": (0.2, 0.25, 0.3), "iou": (0.45, 0.5, 0.6),
        "fallback_conf": (0.0, 0.02, 0.05, 0.1), "fallback_min_area": (0.02, 0.1),
        "zoom_imgsz": (0, 256, 320), "zoom_min_area": (0.15, 0.25, 0.35), "zoom_always": (True, False),
        "contain": (0.0,)}
SIZES = (256, 320)  # zoomed-out looks stored besides the serving size
FLOOR = 0.005  # candidates are kept down to this score once; every setting filters them further


def val_samples(root: Path | None, boxes_cache: Path, n_photos: int, n_boards: int, imgsz: int, seed: int = 0):
    """(kind, image, truth boxes) for val photos, val cluttered boards and val clean boards."""
    from PIL import Image

    from training.data.boards import load_board_sources, render_layout_board
    from training.data.wild import load_wild_sources, render_clutter
    from training.data.wild_boxes import load_wild_boxes

    records = load_wild_boxes(root, boxes_cache, True, ("val",))
    rng = np.random.default_rng(seed)
    if len(records) > n_photos:
        records = [records[i] for i in sorted(rng.choice(len(records), n_photos, replace=False))]
    for rec in records:
        with Image.open(rec["path"]) as im:
            img = im.convert("RGB")
        yield "photo", img, [rec["box"]]
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    for k in range(n_boards):
        img, rec = render_clutter(src, "val", imgsz, np.random.default_rng([seed, 91, k]))
        yield "clutter", img, [b["box"] for b in rec["boxes"]]
    for k in range(n_boards):
        img, rec = render_layout_board(src.boards, "val", imgsz, np.random.default_rng([seed, 92, k]))
        yield "board", img, [b["box"] for b in rec["boxes"]]


def score_setting(det, stored: list[tuple[str, object, list]]) -> dict:
    """Every measure for the detector's current settings over the stored candidates."""
    from training.eval_wild import match_boxes

    photo_hit, photo_right, n_fallback, photo_boxes = [], [], 0, []
    counts = {k: [0, 0, 0] for k in ("clutter", "board")}  # true positives, predictions, truths
    for kind, looks, truths in stored:
        dets = det.select(looks)
        if kind == "photo":
            photo_hit.append(bool(dets))
            photo_boxes.append(len(dets))
            photo_right.append(bool(dets) and box_iou(truths[0], dets[0].box) >= 0.5)
            n_fallback += bool(dets) and dets[0].score <= det.conf
            continue
        matched = match_boxes(truths, [d.box for d in dets])
        c = counts[kind]
        c[0] += sum(m >= 0 for m in matched)
        c[1] += len(dets)
        c[2] += len(truths)
    out = {"photo_detected": float(np.mean(photo_hit)), "photo_box_right": float(np.mean(photo_right)),
           "photo_second_chance": n_fallback / max(1, len(photo_hit)), "photo_boxes": float(np.mean(photo_boxes))}
    for kind, (tp, n_pred, n_true) in counts.items():
        out[f"{kind}_recall"] = tp / max(1, n_true)
        out[f"{kind}_precision"] = tp / max(1, n_pred)
    return {k: round(v, 4) for k, v in out.items()}


def tune(det, stored: list, grid: dict = GRID) -> list[dict]:
    """Every combination of ``grid`` scored (the detector's settings are restored afterwards)."""
    saved = {k: getattr(det, k) for k in grid}
    rows = []
    found = det.found
    memo: dict = {}

    def memo_found(cand):  # NMS depends on (pass, iou, floor) only: computed once per combination
        key = (id(cand), det.iou, det.floor)
        if key not in memo:
            memo[key] = found(cand)
        return memo[key]

    det.found = memo_found
    try:
        for values in itertools.product(*grid.values()):
            setting = dict(zip(grid, values))
            if setting["fallback_conf"] == 0 and setting["fallback_min_area"] != grid["fallback_min_area"][0]:
                continue  # the second chance is off: its size check means nothing
            if setting["zoom_imgsz"] == 0 and (setting["zoom_min_area"] != grid["zoom_min_area"][0]
                                               or setting["zoom_always"] != grid["zoom_always"][0]):
                continue  # no zoomed-out look: its settings mean nothing
            for k, v in setting.items():
                setattr(det, k, v)
            rows.append({**setting, **score_setting(det, stored)})
    finally:
        for k, v in saved.items():
            setattr(det, k, v)
        del det.found
    return rows


def main(argv: list[str] | None = None) -> int:
    from stylist.models.registry import load_detector

    p = argparse.ArgumentParser(prog="python -m training.tune_detector", description=__doc__.split("\n")[0])
    p.add_argument("--weights", default="", help="detector .pt (default: the configured one)")
    p.add_argument("--boxes", default="", help="GrabCut box cache (default: <home>/cache/wild-boxes-val.jsonl)")
    p.add_argument("--photos", type=int, default=300)
    p.add_argument("--boards", type=int, default=60)
    p.add_argument("--out", required=True)
    p.add_argument("--cache", default="", help="pickle of the network's candidates: reused when present")
    a = p.parse_args(argv)
    config = load_config().replace(runtime="onnx")
    if a.weights:
        config = config.replace(detector=a.weights)
    det = load_detector(config)
    if not hasattr(det, "candidates"):
        raise SystemExit("the ONNX runtime is needed (pip install onnxruntime)")
    boxes = Path(a.boxes) if a.boxes else config.cache_dir / "wild-boxes-val.jsonl"
    cache = Path(a.cache) if a.cache else None
    if cache is not None and cache.is_file():
        stored = pickle.loads(cache.read_bytes())
    else:
        stored = [(kind, {size: det.candidates(img, FLOOR, size) for size in (config.imgsz, *SIZES)}, truths)
                  for kind, img, truths in
                  tqdm(val_samples(config.data_dir, boxes, a.photos, a.boards, config.imgsz), desc="val images",
                       unit="img")]
        if cache is not None:
            cache.write_bytes(pickle.dumps(stored))
    rows = tune(det, stored)
    result = {"weights": det.name, "imgsz": config.imgsz, "images": {k: sum(s[0] == k for s in stored)
                                                                     for k in ("photo", "clutter", "board")},
              "current": config.detector_settings(),
              "rows": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(f"{len(rows)} settings -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
