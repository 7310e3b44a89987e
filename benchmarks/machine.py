"""Shared bits of the benchmarks: the machine line printed beside every number, percentiles, test photos."""
from __future__ import annotations

import datetime as dt
import io
import os
import platform
from typing import Sequence

import numpy as np
from PIL import Image


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_line() -> str:
    """Date, CPU, cores usable, torch threads and load average: numbers mean nothing without them."""
    import sys

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu}; {cores()} cores usable; "
            f"torch threads {sys.modules['torch'].get_num_threads() if 'torch' in sys.modules else 'n/a (not loaded)'}; "
            f"load average {load}")


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile in milliseconds (values in seconds); nan when empty."""
    return float(np.percentile(values, q)) * 1000 if len(values) else float("nan")


def photo_with_one_item(crop_path: str, rng: np.random.Generator, side: int = 640) -> bytes:
    """A JPEG 'photo': one product on a light, slightly noisy backdrop."""
    bg = np.clip(rng.normal(232, 8, (side, side, 3)), 0, 255).astype(np.uint8)
    board = Image.fromarray(bg)
    with Image.open(crop_path) as im:
        item = im.convert("RGB")
    size = int(rng.integers(side * 11 // 32, side * 5 // 8))
    item.thumbnail((size, size))
    board.paste(item, (int(rng.integers(0, side - item.width)), int(rng.integers(0, side - item.height))))
    buf = io.BytesIO()
    board.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def photos_from_crops(paths: Sequence[str], rng: np.random.Generator, decode: bool = False) -> list:
    """One photo per crop path: JPEG bytes, or decoded RGB images when ``decode``."""
    out = [photo_with_one_item(p, rng) for p in paths]
    return [Image.open(io.BytesIO(b)).convert("RGB") for b in out] if decode else out
