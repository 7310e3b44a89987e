"""Benchmark: style boards generated per second (default 500 boards at 640 px with 2 workers).

    .venv/bin/python benchmarks/bench_boards.py [--n 500] [--imgsz 640] [--workers 2] [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from training.data.boards import generate_boards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default=None, help="data root (default: STYLIST_DATA or ../shared/data)")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        generate_boards(a.data, out, a.n, imgsz=a.imgsz, workers=a.workers, progress=False)
        seconds = time.perf_counter() - start
    print(f"{a.n} boards at {a.imgsz} px, workers={a.workers} (machine has {os.cpu_count()} cores): "
          f"{seconds:.1f} s, {a.n / seconds:.1f} boards/s (incl. ~1-2 s start-up loading crops and layouts)")


if __name__ == "__main__":
    main()
