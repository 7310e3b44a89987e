"""Benchmark: torch vs ONNX Runtime vs OpenVINO for the detector, the autoencoder encoder and the CLIP image tower.

    .venv/bin/python benchmarks/bench_runtimes.py [--rounds 30] [--runtimes torch,onnx,openvino] [--imgsz 512]

Same weights, same inputs (real CTL crops, 640-px photos made from them), runtimes interleaved round by
round so the shared machine's load hits them alike. Prints p50/p95 ms per call and the agreement with
torch (worst cosine of the embeddings; worst best-match IoU of the boxes). Exports go into a temporary
STYLIST_HOME, so the first-use export time is printed too.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line, photos_from_crops, pct  # noqa: E402
from stylist.config import load_config  # noqa: E402


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--runtimes", default="torch,onnx,openvino")
    p.add_argument("--imgsz", type=int, default=512)
    p.add_argument("--data")
    args = p.parse_args(argv)
    from stylist.models import registry
    from training.data.sources import load_ctl_crops
    from PIL import Image

    runtimes = args.runtimes.split(",")
    rng = np.random.default_rng(0)
    crops = load_ctl_crops(args.data)
    pick = [crops[int(i)] for i in rng.choice(len(crops), 64, replace=False)]
    crop_imgs = [Image.open(c.path).convert("RGB") for c in pick]
    photos = photos_from_crops([str(c.path) for c in pick[:args.rounds]], rng, decode=True)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        models = {}
        for rt in runtimes:
            config = load_config(home=Path(tmp), imgsz=args.imgsz)
            config = dataclasses.replace(config, runtime=rt)
            t0 = time.perf_counter()
            models[rt] = (registry.load_detector(config), registry.load_embedder(config), registry.load_clip(config))
            print(f"{rt}: loaded (+ export at first use) in {time.perf_counter() - t0:.1f} s; "
                  f"embedder runner={type(models[rt][1].runner).__name__} clip runner="
                  f"{type(models[rt][2].image_runner).__name__} detector={type(models[rt][0]).__name__}")
        cases = {
            "detect 1 photo": lambda m, k: m[0].detect(photos[k % len(photos)]),
            "ae 1 crop": lambda m, k: m[1].embed(crop_imgs[k % 64:k % 64 + 1]),
            "ae 4 crops": lambda m, k: m[1].embed(crop_imgs[:4]),
            "ae 64 crops": lambda m, k: m[1].embed(crop_imgs),
            "clip 1 image": lambda m, k: m[2].embed_images(crop_imgs[k % 64:k % 64 + 1]),
            "clip 4 images": lambda m, k: m[2].embed_images(crop_imgs[:4]),
            "clip 64 images": lambda m, k: m[2].embed_images(crop_imgs),
        }
        for name, fn in cases.items():
            times: dict[str, list[float]] = {rt: [] for rt in runtimes}
            rounds = args.rounds if "64" not in name else max(3, args.rounds // 6)
            for k in range(rounds + 2):
                for rt in runtimes:
                    t = time.perf_counter()
                    fn(models[rt], k)
                    if k >= 2:
                        times[rt].append(time.perf_counter() - t)
            print(f"{name:<16} " + "  ".join(f"{rt} {pct(times[rt], 50):7.1f}/{pct(times[rt], 95):7.1f} ms"
                                              for rt in runtimes) + f"   (p50/p95; load {os.getloadavg()[0]:.1f})")
        ref = models.get("torch")
        if ref is not None:
            for rt in runtimes:
                if rt == "torch":
                    continue
                m = models[rt]
                cos_ae = float((ref[1].embed(crop_imgs) * m[1].embed(crop_imgs)).sum(1).min())
                cos_clip = float((ref[2].embed_images(crop_imgs) * m[2].embed_images(crop_imgs)).sum(1).min())
                worst, boxes, missing = 1.0, 0, 0
                for ph in photos:
                    a, b = ref[0].detect(ph), m[0].detect(ph)
                    for d in a:
                        best = max((_iou(d.box, e.box) for e in b), default=0.0)
                        boxes += 1
                        missing += best < 0.5
                        worst = min(worst, best)
                print(f"{rt} vs torch: ae min cosine {cos_ae:.5f}; clip min cosine {cos_clip:.5f}; "
                      f"detector {boxes} boxes, worst best-IoU {worst:.4f}, unmatched {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
