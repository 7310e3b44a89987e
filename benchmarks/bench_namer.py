"""Benchmark: the garment namer's latency per call (batch 1 and 4 crops), ONNX Runtime vs torch.

    .venv/bin/python benchmarks/bench_namer.py [--rounds 40] [--runtimes onnx,torch] [--weights PATH]

Real CTL crops as input (the namer's preprocessing included in the time), runtimes interleaved round by
round so the shared machine's load hits them alike; exports go into a temporary STYLIST_HOME (the first-use
export time is printed). Prints p50/p95 ms per call, ms per crop, the process CPU ms per call and the load.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line, pct  # noqa: E402
from stylist.config import load_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--runtimes", default="onnx,torch")
    p.add_argument("--weights", default=None)
    p.add_argument("--data")
    args = p.parse_args(argv)
    from PIL import Image

    from stylist.models.namer import load_namer
    from training.data.sources import load_ctl_crops

    rng = np.random.default_rng(0)
    crops = load_ctl_crops(args.data)
    imgs = [Image.open(crops[int(i)].path).convert("RGB") for i in rng.choice(len(crops), 16, replace=False)]
    runtimes = args.runtimes.split(",")
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-namer-") as tmp:
        namers = {}
        for rt in runtimes:
            config = dataclasses.replace(load_config(home=Path(tmp)), runtime=rt)
            t0 = time.perf_counter()
            namers[rt] = load_namer(config, args.weights)
            print(f"{rt}: loaded (+ export at first use) in {time.perf_counter() - t0:.2f} s; "
                  f"runner={type(namers[rt].runner).__name__}")
        for batch in (1, 4):
            times: dict[str, list[float]] = {rt: [] for rt in runtimes}
            cpu: dict[str, list[float]] = {rt: [] for rt in runtimes}
            for k in range(args.rounds + 3):
                chunk = [imgs[(k + j) % len(imgs)] for j in range(batch)]
                for rt in runtimes:
                    t, c = time.perf_counter(), time.process_time()
                    namers[rt].probs(chunk)
                    if k >= 3:  # warm-up calls not counted
                        times[rt].append(time.perf_counter() - t)
                        cpu[rt].append(time.process_time() - c)
            for rt in runtimes:
                p50 = pct(times[rt], 50)
                print(f"namer {batch} crop(s) [{rt}]: p50 {p50:.1f} ms, p95 {pct(times[rt], 95):.1f} ms, "
                      f"{p50 / batch:.1f} ms per crop, CPU {1000 * float(np.median(cpu[rt])):.1f} ms per call")
    print(machine_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
