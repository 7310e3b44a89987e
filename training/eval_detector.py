"""Detector quality on held-out test boards: ultralytics mAP / precision / recall overall and per class, and
the serving-size detections (with CPU ms/image) that the item-level retrieval and the pictures reuse."""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.errors import DataMissingError
from stylist.images import load_image
from stylist.metrics import percentile_ms
from stylist.results import Detection
from stylist.schema import CLASSES

STAMP = "eval-boards.json"  # written last: a cache folder without it is incomplete and is regenerated


@dataclass(frozen=True)
class EvalBoard:
    """One held-out board: its image file and true boxes (product id, category, pixel box)."""

    path: Path
    style: str
    boxes: list[dict]


def load_test_boards(boards_dir: str | Path, limit: int | None = None) -> list[EvalBoard]:
    """The test-split boards listed in ``manifest.jsonl`` (first ``limit`` of them, in manifest order)."""
    boards_dir = Path(boards_dir)
    manifest = boards_dir / "manifest.jsonl"
    if not manifest.is_file() or not (boards_dir / "data.yaml").is_file():
        raise DataMissingError(
            f"{boards_dir} is not a boards folder (needs manifest.jsonl and data.yaml; make one with `stylist data boards`)"
        )
    boards = []
    with manifest.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("split") == "test":
                boards.append(EvalBoard(boards_dir / rec["file"], rec.get("style", "board"), rec.get("boxes", [])))
    if not boards:
        raise DataMissingError(f"{boards_dir}/manifest.jsonl lists no test boards")
    return boards[:limit] if limit else boards


def make_test_boards(root: Path, out_dir: Path, n_test: int, seed: int = 0, imgsz: int = 640) -> tuple[Path, dict]:
    """Render ``n_test`` held-out boards (test split only) into ``out_dir`` as a boards folder; reuse a complete one.

    Board ``i`` is exactly board ``i`` of ``generate_boards(root, ..., seed=seed)`` — the same planner and
    renderers — but train/val boards are skipped, which makes this ten times cheaper than generating all
    splits. Falls back to fewer styles when Fashion-MNIST or the clothing photos are missing.
    """
    from training.data.boards import RENDERERS, load_board_sources, plan_board, write_data_yaml, yolo_lines

    stamp = out_dir / STAMP
    if stamp.is_file():
        info = json.loads(stamp.read_text())
        if (info.get("n_test"), info.get("seed"), info.get("root"), info.get("imgsz")) == (n_test, seed, str(root), imgsz):
            return out_dir, info
    errors = []
    for outfit, demo in ((0.2, 0.1), (0.2, 0.0), (0.0, 0.0)):  # generate_boards' default mix first
        try:
            src = load_board_sources(root, outfit > 0, demo > 0)
            break
        except DataMissingError as exc:
            errors.append(str(exc))
    else:
        raise DataMissingError("cannot make test boards: " + " | ".join(errors))
    for sub in ("images", "labels"):
        (out_dir / sub / "test").mkdir(parents=True, exist_ok=True)
    styles: dict[str, int] = {}
    records, index = [], 0
    bar = tqdm(total=n_test, desc="test boards", unit="board")
    while len(records) < n_test:
        split, style, rng = plan_board(seed, index, outfit, demo)
        name = f"board_{index:06d}"
        index += 1
        if split != "test":
            continue
        board, record = RENDERERS[style](src, split, imgsz, rng)
        rel = Path("images") / split / f"{name}.jpg"
        board.save(out_dir / rel, quality=int(rng.integers(60, 96)))
        (out_dir / "labels" / split / f"{name}.txt").write_text(
            "".join(line + "\n" for line in yolo_lines(record["boxes"], board.size)))
        records.append({"file": str(rel), "split": split, "style": style, "size": list(board.size), **record})
        styles[style] = styles.get(style, 0) + 1
        bar.update()
    bar.close()
    with (out_dir / "manifest.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    write_data_yaml(out_dir)
    info = {"n_test": n_test, "seed": seed, "root": str(root), "imgsz": imgsz, "styles": styles,
            "outfit_fraction": outfit, "demo_fraction": demo, "fallback_reasons": errors}
    stamp.write_text(json.dumps(info, indent=1))
    return out_dir, info


def _subset_yaml(boards: list[EvalBoard], workdir: Path) -> Path:
    """A data.yaml whose test split is exactly ``boards`` (an image list), so val and retrieval see the same set."""
    import yaml

    listing = workdir / "test.txt"
    listing.write_text("".join(f"{b.path.resolve()}\n" for b in boards))
    spec = {"path": str(workdir), "train": str(listing), "val": str(listing), "test": str(listing),
            "nc": len(CLASSES), "names": {i: c for i, c in enumerate(CLASSES)}}
    path = workdir / "data.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return path


def validate_detector(detector, boards: list[EvalBoard], imgsz: int, batch: int = 16) -> dict:
    """ultralytics ``val`` on the test boards: mAP50, mAP50-95, P, R overall and per class (with instance counts)."""
    with tempfile.TemporaryDirectory(prefix="stylist-val-") as tmp:
        data = _subset_yaml(boards, Path(tmp))
        res = detector.yolo.val(data=str(data), split="test", imgsz=imgsz, batch=batch, plots=False, device="cpu",
                                project=tmp, name="val", exist_ok=True, verbose=False, save_json=False)
    box = res.box
    names = res.names if isinstance(res.names, dict) else dict(enumerate(res.names))
    counts = np.zeros(len(names), dtype=int)
    for b in boards:
        for item in b.boxes:
            if item["category"] in CLASSES:
                counts[CLASSES.index(item["category"])] += 1
    per_class = {}
    for j, c in enumerate(res.ap_class_index):
        c = int(c)
        per_class[names[c]] = {"map50": float(box.ap50[j]), "map50_95": float(box.ap[j]),
                               "precision": float(box.p[j]), "recall": float(box.r[j]), "instances": int(counts[c])}
    return {"map50": float(box.map50), "map50_95": float(box.map), "precision": float(box.mp),
            "recall": float(box.mr), "per_class": per_class, "instances": int(counts.sum()),
            "val_ms_per_image": {k: round(float(v), 2) for k, v in res.speed.items()}}


def detect_boards(detector, boards: list[EvalBoard]) -> tuple[list[Image.Image], list[list[Detection]], dict]:
    """Run the serving detector (its own imgsz and confidence) on every board; time each call on CPU."""
    images, detections, seconds = [], [], []
    for i, board in enumerate(tqdm(boards, desc="detect", unit="board")):
        img = load_image(board.path)
        start = time.perf_counter()
        dets = detector.detect(img)
        if i > 0:  # the first call includes one-off set-up (model fuse, predictor build)
            seconds.append(time.perf_counter() - start)
        images.append(img)
        detections.append(dets)
    speed = {"ms_per_image_p50": percentile_ms(seconds, 50), "ms_per_image_p95": percentile_ms(seconds, 95),
             "ms_per_image_mean": float(np.mean(seconds) * 1000) if seconds else float("nan"),
             "imgsz": detector.imgsz, "conf": detector.conf, "timed_images": len(seconds)}
    return images, detections, speed
