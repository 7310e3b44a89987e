"""What the item check (``stylist.verify``) costs per picture: detection with and without it.

    .venv/bin/python benchmarks/bench_item_check.py [--boards 40] [--photos 40]

Val-split cluttered boards (``training.data.wild.render_clutter``) and real CC0 val photos; per picture the
process CPU time and wall time of ``serving_detector(...).detect`` with the check on (``STYLIST_DETECT_VERIFY=1``:
the board's lower-scored boxes proposed, every box but the best checked by CLIP) and off, interleaved picture
by picture so the shared machine's load hits both alike. Prints p50/p95 per kind and the boxes served, and
"+ crops": detection plus the CLIP vectors of the served boxes' crops that the candidates then read
(``stylist.crop_vectors``: on a board the check has embedded them already; code without it embeds them again).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _timed(fn) -> tuple[float, float, object]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000, out


def crop_vectors(clip, img, detections):
    """The served boxes' CLIP crop vectors as ``stylist.candidates.CandidateFinder.gather`` gets them."""
    try:
        from stylist.crop_vectors import PhotoCrops
    except ImportError:  # code before the per-photo memo: the crops embedded again
        from stylist.images import item_crop

        return clip.embed_images([item_crop(img, d.box) for d in detections])
    return PhotoCrops(img, [d.box for d in detections]).clip_vectors(clip)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--boards", type=int, default=40)
    p.add_argument("--photos", type=int, default=40)
    a = p.parse_args(argv)
    from PIL import Image

    from stylist.config import load_config
    from stylist.models.registry import load_clip, load_detector
    from stylist.verify import serving_detector
    from training.data.boards import load_board_sources
    from training.data.wild import load_wild_sources, render_clutter
    from training.data.wild_boxes import load_wild_boxes

    config = load_config()
    root = Path(a.data)
    clip = load_clip(config)
    served = {v: serving_detector(config.replace(detect_verify=v), load_detector(config.replace(detect_verify=v)), clip)
              for v in (0, 1)}
    records = load_wild_boxes(root, config.cache_dir / "wild-boxes-val.jsonl", False, ("val",))
    src = load_wild_sources(root, records, load_board_sources(root, False, False))
    pictures = [("board", render_clutter(src, "val", config.imgsz, np.random.default_rng([0, 78, k]))[0])
                for k in range(a.boards)]
    for rec in records[: a.photos]:
        with Image.open(rec["path"]) as im:
            pictures.append(("photo", im.convert("RGB")))
    for det in served.values():  # warm: sessions, first-call allocations
        det.detect(pictures[0][1])
    times: dict = {}
    for kind, img in pictures:
        for v, det in served.items():
            img = img.copy()  # a fresh picture per run: nothing read from another run's photo
            cpu, wall, out = _timed(lambda: det.detect(img))
            cpu2, wall2, _ = _timed(lambda: crop_vectors(clip, img, out))
            times.setdefault((kind, v), []).append((cpu, wall, len(out), cpu + cpu2, wall + wall2))
    for (kind, v), rows in sorted(times.items()):
        arr = np.array(rows)
        print(f"{kind:5s} check {'on ' if v else 'off'}: cpu p50 {np.percentile(arr[:, 0], 50):6.1f} ms "
              f"p95 {np.percentile(arr[:, 0], 95):6.1f} | wall p50 {np.percentile(arr[:, 1], 50):6.1f} ms "
              f"p95 {np.percentile(arr[:, 1], 95):6.1f} | boxes {arr[:, 2].mean():.2f} | + crops: cpu p50 "
              f"{np.percentile(arr[:, 3], 50):6.1f} ms, wall p50 {np.percentile(arr[:, 4], 50):6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
