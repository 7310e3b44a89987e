"""Benchmark: CPU per product of the index build's encoders by runtime, session threads and batch size.

    .venv/bin/python benchmarks/bench_build_sessions.py --home DIR [--n 256] [--batches 32,128]

``--home`` holds the exports (any STYLIST_HOME where the bundled models were loaded once, e.g. one that
bench_stages.py built). Real CTL crops; the autoencoder encoder and the CLIP image tower from the same
ONNX files, run by ONNX Runtime and OpenVINO with 1 and 2 threads per session, plus the pixel-colour
reading per product. CPU time (all threads of this process) is what bounds a build's items/s on a
machine whose cores are all busy with the build; wall time is printed too, but on a shared box it
follows the load.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line  # noqa: E402
from stylist.config import load_config  # noqa: E402


def per_item(fn, x, batch: int, reps: int = 2) -> tuple[float, float]:
    """(CPU ms, wall ms) per item of ``fn`` over ``x`` in batches of ``batch`` (one untimed warm-up call)."""
    fn(x[:batch])
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reps):
        for s in range(0, len(x), batch):
            fn(x[s:s + batch])
    n = reps * len(x)
    return (time.process_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True)
    p.add_argument("--data")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batches", default="32,128")
    p.add_argument("--runtimes", default="onnx,openvino")
    args = p.parse_args(argv)
    home = Path(args.home).resolve()
    config = dataclasses.replace(load_config(home=home, db_path=home / "chroma"), chroma_url=None)
    print(machine_line())
    from stylist.images import load_image
    from stylist.models import shared_clip, shared_embedder
    from stylist.models.runtime import make_runner
    from training.data.sources import load_ctl_crops

    embedder, clip = shared_embedder(config), shared_clip(config)
    crops = load_ctl_crops(args.data)[:args.n]
    images = [load_image(c.path, config.max_pixels, 256) for c in crops]
    clip_pre = clip.image_preprocess.batch if getattr(clip, "image_preprocess", None) else clip.real._numpy_batch
    clip_path = clip.image_runner.path if getattr(clip, "image_runner", None) else clip.real.image_runner.path
    encoders = {"autoencoder": (embedder.runner.path, embedder.preprocess.batch(images)),
                "CLIP image tower": (clip_path, clip_pre(images))}
    for name, pre in (("autoencoder preprocessing", embedder.preprocess.batch), ("CLIP preprocessing", clip_pre)):
        cpu, wall = per_item(pre, images, 32)
        print(f"{name:<28} {cpu:6.2f} ms CPU / item, {wall:6.2f} ms wall / item")
    for name, (path, batch) in encoders.items():
        for runtime in args.runtimes.split(","):
            for threads in (1, 2):
                runner = make_runner(path, runtime, threads)
                for size in (int(b) for b in args.batches.split(",")):
                    cpu, wall = per_item(runner, batch, size)
                    print(f"{name:<17} {runtime:<9} {threads} thread(s) batch {size:<4} {cpu:6.2f} ms CPU / item, "
                          f"{wall:6.2f} ms wall / item", flush=True)
    from stylist.garment_color import garment_color

    pairs = [(im, c.category) for im, c in zip(images, crops)]
    cpu, wall = per_item(lambda chunk: [garment_color(im, cat) for im, cat in chunk], pairs, 32, reps=1)
    print(f"{'pixel colour (garment_color)':<28} {cpu:6.2f} ms CPU / item, {wall:6.2f} ms wall / item")
    return 0


if __name__ == "__main__":
    sys.exit(main())
