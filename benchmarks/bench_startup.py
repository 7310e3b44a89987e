"""Start-up and footprint: `stylist search one.jpg` wall time, bot start-up to first answer, serving RSS.

    .venv/bin/python benchmarks/bench_startup.py --home DIR [--runs 3] [--photos 40]

``--home`` holds a built index (bench_stages.py builds one). ``stylist search`` runs as a fresh process
(warm disk: one untimed run first). The bot's start-up is measured the way ``stylist bot`` starts —
Stylist.from_config + bot.app.warm_up — then one photo is searched (photo → buttons) and tapped; peak
RSS is read after serving ``--photos`` photos with a tap each, as the bot does, in that same process.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_line, photos_from_crops  # noqa: E402


def cli_wall(home: Path, photo: Path, runs: int) -> list[float]:
    env = {**os.environ, "STYLIST_HOME": str(home), "STYLIST_DB": str(home / "chroma"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from stylist.cli import main; import sys; sys.exit(main())", "search", str(photo),
           "--text", "in red"]
    times = []
    for k in range(runs + 1):
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"stylist search failed: {out.stderr[-500:]}")
        if k:
            times.append(time.perf_counter() - t)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True)
    p.add_argument("--data")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--photos", type=int, default=40)
    args = p.parse_args(argv)
    home = Path(args.home).resolve()
    print(machine_line())
    from training.data.sources import load_ctl_crops

    rng = np.random.default_rng(1)
    crops = load_ctl_crops(args.data)
    photos = photos_from_crops([str(crops[int(i)].path) for i in rng.choice(len(crops), args.photos + 1)], rng)
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.jpg"
        one.write_bytes(photos[0])
        walls = cli_wall(home, one, args.runs)
    print(f"`stylist search one.jpg --text 'in red'`: median {statistics.median(walls):.2f} s wall "
          f"(runs {', '.join(f'{w:.2f}' for w in walls)}; load {os.getloadavg()[0]:.1f})")

    t0 = time.perf_counter()
    from stylist.config import load_config
    from stylist.search import Stylist

    config = dataclasses.replace(load_config(home=home, db_path=home / "chroma"), chroma_url=None)
    stylist = Stylist.from_config(config)
    t1 = time.perf_counter()
    from bot.app import warm_up

    warm_up(stylist)
    t2 = time.perf_counter()
    img = stylist.load_image(photos[1])
    photo = stylist.photo(img) if hasattr(stylist, "photo") else None
    first = (stylist.rank(photo, photo.detections[0].index if photo.detections else None, "in red")
             if photo is not None else stylist.search_item(img, (stylist.detect_items(img) or [None])[0], "in red"))
    t3 = time.perf_counter()
    print(f"bot start-up: models + index {t1 - t0:.1f} s, warm-up {t2 - t1:.1f} s, first photo + tap "
          f"{(t3 - t2) * 1000:.0f} ms → first answer {t3 - t0:.1f} s after start ({len(first.products)} products)")
    for k, data in enumerate(photos[2:]):
        img = stylist.load_image(data)
        words = "in red" if k % 2 else f"soft leather with stitched trim {k}"  # every other tap: novel words
        if photo is not None:
            photo = stylist.photo(img)
            stylist.rank(photo, photo.detections[0].index if photo.detections else None, words)
        else:
            dets = stylist.detect_items(img)
            stylist.search_item(img, dets[0] if dets else None, words)
    size = stylist.store.size_on_disk() or 0
    n = stylist.store.count()
    print(f"serving {n} products: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB after "
          f"{args.photos} photos + taps (half with novel words; torch loaded: {'torch' in sys.modules}); index {size / 1e6:.1f} MB on disk = {size / 1e6 * 12000 / max(n, 1):.1f} MB "
          f"per 12k products (load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
