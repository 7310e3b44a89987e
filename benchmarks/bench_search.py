"""Benchmark: index build throughput + size on disk on the real CTL catalog, per-stage search latency, peak memory.

    .venv/bin/python benchmarks/bench_search.py [--data DIR] [--limit N] [--queries 60] [--text "in black"]

Builds the CTL crops (11k products, or the first ``--limit``) into a fresh embedded Chroma store, then times
searches of a photo with one item plus text: decode, detect, embed, query (Chroma candidates + CLIP vectors),
text (CLIP text encoder, uncached), re-rank. Targets on 2 cores: p50 ≤ 150 ms, ≥ 100 items/s, ≤ 60 MB / 12k.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line, photo_with_one_item  # noqa: E402
from stylist.catalog import write_catalog  # noqa: E402
from stylist.config import load_config  # noqa: E402

STAGES = ("decode", "detect", "embed", "query", "text", "rerank", "total")
TARGETS = {"p50_ms": 150.0, "items_per_s": 100.0, "mb_per_12k": 60.0}


def bench_build(config, root: str | None, limit: int | None) -> dict:
    from index.build import build_index
    from stylist.models import shared_clip, shared_embedder
    from training.data.catalog_writers import ctl_catalog

    items = ctl_catalog(root)[:limit] if limit else ctl_catalog(root)
    csv_path = write_catalog(items, config.home / "bench-ctl.csv", relative=False)
    embedder, clip = shared_embedder(config), shared_clip(config)
    embedder.embed([Image.new("RGB", (64, 64))] * 2), clip.embed_images([Image.new("RGB", (64, 64))] * 2)  # warm-up
    report = build_index(config, csv_path, embedder, clip, batch_size=128)
    from stylist.store import CatalogStore

    size = CatalogStore.open(config).size_on_disk() or 0
    n = report.embedded
    return {"products": n, "skipped": len(report.skipped), "seconds": round(report.seconds, 1),
            "items_per_s": round(n / report.seconds, 1), "size_mb": round(size / 1e6, 1),
            "mb_per_12k": round(size / 1e6 * 12000 / max(n, 1), 1)}


def bench_latency(config, root: str | None, queries: int, text: str) -> dict:
    from stylist.search import Stylist
    from training.data.sources import load_ctl_crops

    stylist = Stylist.from_config(config)
    rng = np.random.default_rng(0)
    crops = load_ctl_crops(root)
    photos = [photo_with_one_item(str(crops[int(i)].path), rng) for i in rng.choice(len(crops), queries + 5)]
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    detections_found = 0
    for k, data in enumerate(photos):
        t0 = time.perf_counter()
        img = stylist.load_image(data)
        t1 = time.perf_counter()
        dets = stylist.detect_items(img)
        t2 = time.perf_counter()
        stages: dict[str, float] = {}
        stylist.vectors.clear_text()  # every shopper types something new: time the text encoder too
        stylist.search_item(img, dets[0] if dets else None, text, top_k=10, timings=stages)
        t3 = time.perf_counter()
        if k < 5:
            continue  # warm-up
        detections_found += bool(dets)
        samples["decode"].append(t1 - t0)
        samples["detect"].append(t2 - t1)
        for s in ("embed", "query", "text", "rerank"):
            samples[s].append(stages.get(s, 0.0))
        samples["total"].append(t3 - t0)
    pct = {s: {"p50_ms": round(float(np.percentile(v, 50)) * 1000, 1), "p95_ms": round(float(np.percentile(v, 95)) * 1000, 1)}
           for s, v in samples.items()}
    return {"queries": len(samples["total"]), "text": text, "with_detection": detections_found,
            "models": {"detector": stylist.detector.name, "embedder": stylist.embedder.name, "clip": stylist.clip.name},
            "stages": pct}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="data root (default STYLIST_DATA or ../shared/data)")
    p.add_argument("--limit", type=int, help="index only the first N CTL products")
    p.add_argument("--queries", type=int, default=60)
    p.add_argument("--text", default="in black")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        # a fresh embedded store (a server's disk is not ours to measure)
        config = dataclasses.replace(load_config(home=Path(tmp), db_path=Path(tmp) / "chroma"), chroma_url=None)
        build = bench_build(config, args.data, args.limit)
        latency = bench_latency(config, args.data, args.queries, args.text)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"cores": os.cpu_count(), "build": build, "latency": latency, "peak_rss_mb": round(peak_mb, 0),
              "targets": TARGETS}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"machine: {machine_line()}; models: {latency['models']}")
    print(f"index build: {build['products']} products in {build['seconds']} s = {build['items_per_s']} items/s "
          f"(target ≥ {TARGETS['items_per_s']:.0f}); size on disk {build['size_mb']} MB = {build['mb_per_12k']} MB per 12k "
          f"(target ≤ {TARGETS['mb_per_12k']:.0f})")
    print(f"search latency, photo with one item + text {args.text!r}, {latency['queries']} queries "
          f"({latency['with_detection']} with a detection):")
    for stage, v in latency["stages"].items():
        print(f"  {stage:<7} p50 {v['p50_ms']:7.1f} ms   p95 {v['p95_ms']:7.1f} ms")
    print(f"  target: total p50 ≤ {TARGETS['p50_ms']:.0f} ms")
    print(f"peak memory (max RSS): {result['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
