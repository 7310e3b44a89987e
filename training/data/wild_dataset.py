"""Write the "in the wild" detector dataset (ultralytics YOLO format) and the GrabCut contact sheet.

    python -m training.data.wild_dataset --out runs/wild/data --boxes runs/wild/boxes.jsonl \
        --train photo=1000,composite=700,clutter=800 --val photo=60,composite=40,clutter=60

Every image is a pure function of (seed, kind, split, index), so the dataset is the same on every machine.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

try:
    from tqdm import tqdm
except ImportError:
    tqdm = None

from training.data.boards import RENDERERS as BOARD_RENDERERS
from training.data.boards import load_board_sources, write_data_yaml, yolo_lines
from training.data.sample import draw_boxes
from training.data.drawn import render_drawn_board
from training.data.splits import SPLITS
from training.data.wild import RENDERERS, WildSources, add_distractors, load_wild_sources
from training.data.wild_boxes import load_wild_boxes

KIND_SEED = {"photo": 11, "composite": 12, "clutter": 13, "outfit": 14, "demo": 15, "board": 16, "busy": 17,
             "empty": 18, "drawn": 19}
# board / outfit / demo: the bundled detector's clean catalog boards, so it keeps what it knew (a fine-tune on
# photos alone forgot small tops on white); busy: cluttered boards with many more unlabelled distractors;
# empty: distractors and text only (no label at all), so that boxes on perfume, socks and logos cost precision;
# drawn: flat drawn products in a grid on white (mock-ups, the bot's demo grids), which a fine-tune forgot.
KINDS = tuple(KIND_SEED)


def render_busy(src: WildSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A cluttered board (``training.data.wild.render_clutter``) with 2–5 more unlabelled distractors."""
    board, record = RENDERERS["clutter"](src, split, imgsz, rng)
    add_distractors(src, split, board, [b["box"] for b in record["boxes"]], int(rng.integers(2, 6)), rng)
    return board, record


def render_empty(src: WildSources, split: str, imgsz: int, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A board of distractors only, on white, off-white or grey: nothing on it may be boxed."""
    landscape = rng.random() < 0.5  # drawn before the short side: the same images as before
    short = int(imgsz * rng.uniform(0.75, 1.0))
    w, h = (imgsz, short) if landscape else (short, imgsz)
    tone = tuple(int(v) for v in np.clip(rng.uniform(170, 256) + rng.normal(0, 4, 3), 0, 255)) if rng.random() < 0.5 \
        else (255, 255, 255)
    board = Image.new("RGB", (w, h), tone)
    add_distractors(src, split, board, [], int(rng.integers(3, 8)), rng, max_overlap=0.3)
    return board, {"background": "grey" if tone != (255, 255, 255) else "white", "boxes": []}


def render(src: WildSources, kind: str, split: str, index: int, imgsz: int, seed: int = 0) -> tuple[Image.Image, dict]:
    """Image ``index`` of ``kind`` in ``split`` (deterministic)."""
    rng = np.random.default_rng([seed, KIND_SEED[kind], SPLITS.index(split), index])
    if kind == "photo":  # every real photo once, in a fixed shuffled order (no repeats before all are used)
        photos = src.photos[split]
        order = np.random.default_rng([seed, SPLITS.index(split)]).permutation(len(photos))
        return RENDERERS[kind](src, split, imgsz, rng, record=photos[int(order[index % len(photos)])])
    if kind in BOARD_RENDERERS:
        return BOARD_RENDERERS[kind](src.boards, split, imgsz, rng)
    if kind == "busy":
        return render_busy(src, split, imgsz, rng)
    if kind == "empty":
        return render_empty(src, split, imgsz, rng)
    if kind == "drawn":
        return render_drawn_board(src, split, imgsz, rng)
    return RENDERERS[kind](src, split, imgsz, rng)


def parse_counts(spec: str) -> dict[str, int]:
    """'photo=1000,composite=700' -> {'photo': 1000, 'composite': 700}."""
    out = {}
    for part in filter(None, spec.split(",")):
        kind, n = part.split("=")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        out[kind] = int(n)
    return out


def write_wild_dataset(root: str | Path | None, out_dir: str | Path, boxes_cache: str | Path,
                       counts: dict[str, dict[str, int]], imgsz: int = 384, seed: int = 0, workers: int = 2) -> Path:
    """Write images/labels per split and a manifest; returns data.yaml."""
    out = Path(out_dir)
    for sub in ("images", "labels"):
        shutil.rmtree(out / sub, ignore_errors=True)
        for split in SPLITS:
            (out / sub / split).mkdir(parents=True, exist_ok=True)
    load_wild_boxes(root, boxes_cache)  # computed once here, not in every worker
    jobs = [(split, kind, i) for split, per in counts.items() for kind, n in per.items() for i in range(n)]
    init = (str(root) if root else None, str(out), str(boxes_cache), imgsz, seed)
    with Pool(max(1, workers), initializer=_init_worker, initargs=init) as pool, \
            (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        results = pool.imap(_write_one, jobs, chunksize=16)
        for record in (tqdm(results, total=len(jobs), desc="wild images", unit="img") if tqdm else results):
            manifest.write(json.dumps(record) + "\n")
    return write_data_yaml(out)


_STATE: dict = {}


def _init_worker(root: str | None, out: str, boxes_cache: str, imgsz: int, seed: int) -> None:
    _STATE.update(out=Path(out), imgsz=imgsz, seed=seed, src=load_wild_sources(
        root, load_wild_boxes(root, boxes_cache), load_board_sources(root, True, True)))


def _write_one(job: tuple[str, str, int]) -> dict:
    split, kind, i = job
    out = _STATE["out"]
    img, rec = render(_STATE["src"], kind, split, i, _STATE["imgsz"], _STATE["seed"])
    name = f"{kind}_{i:05d}"
    img.save(out / "images" / split / f"{name}.jpg", quality=90)
    (out / "labels" / split / f"{name}.txt").write_text("".join(l + "\n" for l in yolo_lines(rec["boxes"], img.size)))
    return {"file": f"images/{split}/{name}.jpg", "split": split, "kind": kind, "size": list(img.size), **rec}


def contact_sheet(records: list[dict], out: str | Path, n: int = 100, cols: int = 10, tile: int = 160,
                  seed: int = 0) -> Path:
    """``n`` random CC0 photos with their boxes (red = fallback box) tiled into one PNG, to check by eye."""
    rng = np.random.default_rng(seed)
    pick = [records[i] for i in rng.choice(len(records), size=min(n, len(records)), replace=False)]
    tiles = []
    for rec in pick:
        with Image.open(rec["path"]) as img:
            drawn = draw_boxes(img.convert("RGB"), [{"category": rec["category"], "box": rec["box"]}],
                               ("FB " if rec["method"] == "fallback" else "") + rec["garment"])
        drawn.thumbnail((tile, tile))
        tiles.append(drawn)
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * (tile + 4) + 4, rows * (tile + 4) + 4), (60, 60, 60))
    for k, t in enumerate(tiles):
        sheet.paste(t, (4 + (k % cols) * (tile + 4), 4 + (k // cols) * (tile + 4)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.data.wild_dataset", description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="data root (default: STYLIST_DATA, else ../shared/data)")
    p.add_argument("--out", required=True)
    p.add_argument("--boxes", required=True, help="GrabCut box cache (JSON lines; computed when missing)")
    p.add_argument("--imgsz", type=int, default=384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    for split in SPLITS:
        p.add_argument(f"--{split}", default="", help="counts per kind, e.g. photo=1000,composite=700,clutter=800")
    p.add_argument("--sheet", default="", help="also write a contact sheet of 100 CC0 photos with boxes here")
    a = p.parse_args(argv)
    if a.sheet:
        print(contact_sheet(load_wild_boxes(a.data, a.boxes), a.sheet))
    counts = {s: parse_counts(getattr(a, s)) for s in SPLITS if getattr(a, s)}
    if counts:
        print(write_wild_dataset(a.data, a.out, a.boxes, counts, a.imgsz, a.seed, a.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
