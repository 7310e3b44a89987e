"""Profile: p50/p95 per stage for photo → buttons and tap → results, on the real CTL catalog.

    .venv/bin/python benchmarks/bench_stages.py --home DIR [--limit N] [--queries 40] [--text "in red"]
                                                [--runtimes torch,onnx] [--chroma]

``--home`` keeps the built index between runs (it is built there when missing, and the build's items/s
and MB on disk are printed). Photos are 640-px JPEGs with one held CTL product each. For each runtime
(interleaved photo by photo, so the shared machine's load hits them alike):

* photo → buttons: decode, detect, embed (every detected item in one batch), candidates (Chroma);
* tap → results with words: CLIP text (cached vocabulary word, and novel words), candidates' CLIP
  vectors, re-rank — what a tap costs once the photo's candidates are kept;
* CLI: ``search_image(img, None, words)`` end to end, amortised over the photos in one process.

With code that has no ``Stylist.photo`` (the version before the speed work), photo → buttons is decode +
detect and a tap runs ``search_item`` (embed + query + text + re-rank); the stage names say which.
``--chroma`` adds the Chroma query breakdown (bare top-100 HNSW vs ``include`` of metadatas/documents/
embeddings, ``where`` filters, ef_search, numpy brute force).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line, pct, photos_from_crops  # noqa: E402
from stylist.config import load_config  # noqa: E402

if TYPE_CHECKING:
    from stylist.search import Stylist


def build(config, root, limit) -> dict | None:
    """Build the CTL index under config.home when it is not there yet; items/s and size on disk."""
    from index.build import build_index
    from stylist.catalog import write_catalog
    from stylist.models import shared_clip as load_clip, shared_embedder as load_embedder
    from stylist.store import CatalogStore
    from training.data.catalog_writers import ctl_catalog

    store = CatalogStore.open(config)
    if store.count():
        return None
    items = ctl_catalog(root, limit=limit)
    csv_path = write_catalog(items, config.home / "bench-ctl.csv", relative=False)
    embedder, clip = load_embedder(config), load_clip(config)
    cpu = time.process_time()
    report = build_index(config, csv_path, embedder, clip, store=store, batch_size=512)
    cpu = time.process_time() - cpu  # all threads of this process: the build's CPU, whatever the load
    size = store.size_on_disk() or 0
    n = report.embedded
    profile = ""
    if getattr(report, "stages", None):  # builds before the profile was recorded have none
        from index.profile import format_profile

        profile = format_profile(report.stages, n)
    return {"products": n, "seconds": round(report.seconds, 1), "items_per_s": round(n / report.seconds, 1),
            "mb": round(size / 1e6, 1), "mb_per_12k": round(size / 1e6 * 12000 / max(n, 1), 1),
            "load": os.getloadavg()[0], "cpu_s": round(cpu, 1), "profile": profile}


def _lap(samples: dict, key: str, t: float) -> float:
    now = time.perf_counter()
    samples.setdefault(key, []).append(now - t)
    return now


def one_photo(stylist: Stylist, data: bytes, text: str, novel: str, samples: dict) -> None:
    """Time one shopper's photo, then a tap with cached words and one with novel words, then the CLI path."""
    t = time.perf_counter()
    img = stylist.load_image(data)
    t = _lap(samples, "buttons: decode", t)
    if hasattr(stylist, "photo"):  # photo → buttons does the work once
        stages: dict[str, float] = {}
        cpu = time.process_time()
        photo = stylist.photo(img, timings=stages)
        # CPU seconds of all this process's threads: unlike wall time, barely moved by other jobs' load;
        # on an idle machine with N cores the wall time is at least CPU / N
        samples.setdefault("buttons: CPU time after decode (all threads)", []).append(time.process_time() - cpu)
        for k, v in stages.items():
            samples.setdefault(f"buttons: {k}", []).append(v)
        t = _lap(samples, "buttons: TOTAL (after decode)", t)
        samples.setdefault("buttons: TOTAL", []).append(samples["buttons: decode"][-1] + samples["buttons: TOTAL (after decode)"][-1])
        item = photo.detections[0].index if photo.detections else None
        for label, words in (("tap 'in red' (cached words)", text), ("tap, novel words", novel)):
            if words == novel:
                stylist.vectors.clear_text()  # every shopper types something new: time the text encoder too
            stages = {}
            t = time.perf_counter()
            cpu = time.process_time()
            stylist.rank(photo, item, words, top_k=10, restrict_category=True, timings=stages)
            samples.setdefault(f"{label}: CPU time", []).append(time.process_time() - cpu)
            for k, v in stages.items():
                samples.setdefault(f"{label}: {k}", []).append(v)
            _lap(samples, f"{label}: TOTAL", t)
    else:
        dets = stylist.detect_items(img)
        t = _lap(samples, "buttons: detect", t)
        samples.setdefault("buttons: TOTAL", []).append(samples["buttons: decode"][-1] + samples["buttons: detect"][-1])
        det = dets[0] if dets else None
        for label, words, clear in (("tap 'in red' (cached words)", text, False), ("tap, novel words", novel, True)):
            if clear:
                getattr(stylist, "_text_cache", {}).clear()
            stages = {}
            t = time.perf_counter()
            stylist.search_item(img, det, words, top_k=10, restrict_category=True, timings=stages)
            for k, v in stages.items():
                samples.setdefault(f"{label}: {k}", []).append(v)
            _lap(samples, f"{label}: TOTAL", t)
    t = time.perf_counter()
    stylist.search_image(stylist.load_image(data), None, text, 10)
    _lap(samples, "CLI search_image(one item, words) incl. decode", t)


def chroma_breakdown(stylist: Stylist, vectors: np.ndarray, rounds: int = 30) -> None:
    """Where a Chroma query's time goes: the HNSW search itself vs fetching, filters and round trips."""
    col = stylist.store.visual
    n = 100
    cases = {
        "ids + distances (include=['distances'])": dict(include=["distances"]),
        "+ metadatas (what search asks)": dict(include=["distances", "metadatas"]),
        "+ metadatas + documents": dict(include=["distances", "metadatas", "documents"]),
        "+ embeddings": dict(include=["distances", "embeddings"]),
        "where category $in [1 class], distances only": dict(include=["distances"], where={"category": {"$in": ["Shoes"]}}),
        "where colour family, + metadatas": dict(include=["distances", "metadatas"],
                                                  where={"color": {"$in": ["red", "maroon", "pink"]}}),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    times["4 single queries (4 round trips), + metadatas"] = []
    times["1 batched query of 4 vectors, + metadatas"] = []
    times["numpy brute force top-100 (matrix in RAM)"] = []
    times["get 100 CLIP vectors by id"] = []
    times["get 100 metadatas by id"] = []
    all_vis = col.get(include=["embeddings"], limit=100000)
    matrix = np.asarray(all_vis["embeddings"], dtype=np.float32)
    ids = all_vis["ids"]
    for k in range(rounds):
        v = vectors[k % len(vectors)]
        for name, kw in cases.items():
            t = time.perf_counter()
            col.query(query_embeddings=v[None, :], n_results=n, **kw)
            times[name].append(time.perf_counter() - t)
        vs = vectors[(k * 4) % len(vectors):(k * 4) % len(vectors) + 4]
        t = time.perf_counter()
        for row in vs:
            col.query(query_embeddings=row[None, :], n_results=n, include=["distances", "metadatas"])
        times["4 single queries (4 round trips), + metadatas"].append(time.perf_counter() - t)
        t = time.perf_counter()
        col.query(query_embeddings=vs, n_results=n, include=["distances", "metadatas"])
        times["1 batched query of 4 vectors, + metadatas"].append(time.perf_counter() - t)
        t = time.perf_counter()
        s = matrix @ v
        np.argpartition(-s, n)[:n]
        times["numpy brute force top-100 (matrix in RAM)"].append(time.perf_counter() - t)
        pick = [ids[i] for i in np.random.default_rng(k).choice(len(ids), 100, replace=False)]
        t = time.perf_counter()
        stylist.store.clip.get(ids=pick, include=["embeddings"])
        times["get 100 CLIP vectors by id"].append(time.perf_counter() - t)
        t = time.perf_counter()
        col.get(ids=pick, include=["metadatas"])
        times["get 100 metadatas by id"].append(time.perf_counter() - t)
    meta = col.get(limit=200, include=["metadatas"])["metadatas"]
    size = np.mean([sum(len(str(k)) + len(str(v)) for k, v in m.items()) for m in meta])
    print(f"\nChroma query breakdown ({len(ids)} vectors, top-{n}, {rounds} rounds; metadata ≈ {size:.0f} chars "
          f"per product; collection config {col.configuration_json.get('hnsw') if hasattr(col, 'configuration_json') else ''}):")
    for name, v in times.items():
        print(f"  {name:<52} p50 {pct(v, 50):7.1f} ms   p95 {pct(v, 95):7.1f} ms")
    print(f"  (load average {os.getloadavg()[0]:.2f})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True, help="STYLIST_HOME for the bench (index kept there)")
    p.add_argument("--data")
    p.add_argument("--limit", type=int)
    p.add_argument("--queries", type=int, default=40)
    p.add_argument("--text", default="in red")
    p.add_argument("--novel", default="soft leather with stitched trim", help="words whose CLIP vector is not cached")
    p.add_argument("--runtimes", default="", help="comma-separated STYLIST_RUNTIME values to compare (default: config)")
    p.add_argument("--chroma", action="store_true")
    p.add_argument("--build-only", action="store_true")
    args = p.parse_args(argv)
    home = Path(args.home).resolve()
    config = dataclasses.replace(load_config(home=home, db_path=home / "chroma"), chroma_url=None)
    print(machine_line())
    built = build(config, args.data, args.limit)
    if built:
        print(f"index build: {built['products']} products in {built['seconds']} s = {built['items_per_s']} items/s; "
              f"{built['mb']} MB on disk = {built['mb_per_12k']} MB per 12k products (load {built['load']:.1f}); "
              f"process CPU {built['cpu_s']} s = {built['cpu_s'] / built['products'] * 1000:.1f} ms per product")
        if built["profile"]:
            print("build profile:\n" + built["profile"])
    if args.build_only:
        return 0
    from stylist.search import Stylist
    from training.data.sources import load_ctl_crops

    runtimes = [r for r in args.runtimes.split(",") if r] or [getattr(config, "runtime", "torch")]
    stylists = {}
    for rt in runtimes:
        cfg = dataclasses.replace(config, runtime=rt) if hasattr(config, "runtime") else config
        t = time.perf_counter()
        stylists[rt] = Stylist.from_config(cfg)
        ready = time.perf_counter() - t
        warm = ""
        if hasattr(stylists[rt], "warm_vocabulary"):  # what the bot does at start-up
            t = time.perf_counter()
            words = stylists[rt].warm_vocabulary()
            stylists[rt].warm_filters()
            warm = f"; vocabulary ({words} terms) + filter fields warmed in {time.perf_counter() - t:.1f} s"
        print(f"runtime {rt}: Stylist ready in {ready:.1f} s{warm}")
    rng = np.random.default_rng(0)
    crops = load_ctl_crops(args.data)
    photos = photos_from_crops([str(crops[int(i)].path) for i in rng.choice(len(crops), args.queries + 3)], rng)
    samples: dict[str, dict[str, list[float]]] = {rt: {} for rt in runtimes}
    for k, data in enumerate(photos):
        for rt in runtimes:
            target = samples[rt] if k >= 3 else {}  # 3 warm-up photos
            one_photo(stylists[rt], data, args.text, args.novel, target)
    load = os.getloadavg()
    for rt in runtimes:
        print(f"\nruntime {rt}: {args.queries} photos, words {args.text!r} / novel {args.novel!r}; "
              f"load average at the end {load[0]:.2f}")
        for name, v in samples[rt].items():
            print(f"  {name:<58} p50 {pct(v, 50):7.1f} ms   p95 {pct(v, 95):7.1f} ms")
    if args.chroma:
        s = stylists[runtimes[0]]
        vecs = s.embedder.embed([s.load_image(d) for d in photos[:16]])
        chroma_breakdown(s, vecs)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
