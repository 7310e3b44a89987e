"""Test helpers for the search/index tests: a small made-up catalog and a real `chroma run` server."""
from __future__ import annotations

import contextlib
import csv
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageDraw

COLORS = {"red": (205, 30, 35), "blue": (30, 60, 200), "green": (30, 150, 60), "black": (20, 20, 22),
          "yellow": (235, 205, 30), "pink": (240, 120, 180)}
CATEGORIES = ("Shoes", "Dresses", "Handbags", "Pants")


def draw_product(category: str, rgb: tuple[int, int, int], side: int = 96, jitter: int = 0) -> Image.Image:
    """A flat product picture on white: a recognisable silhouette per category in one colour."""
    img = Image.new("RGB", (side, side), (255, 255, 255))
    d = ImageDraw.Draw(img)
    s, j = side / 96, jitter
    if category == "Shoes":
        d.polygon([(10 * s, (70 + j) * s), (30 * s, 45 * s), (55 * s, 55 * s), (86 * s, 72 * s), (86 * s, 82 * s),
                   (10 * s, 82 * s)], fill=rgb)
    elif category == "Dresses":
        d.polygon([(38 * s, 6 * s), (58 * s, 6 * s), ((84 + j) * s, 90 * s), ((12 - j) * s, 90 * s)], fill=rgb)
    elif category == "Handbags":
        d.rectangle((18 * s, 40 * s, 78 * s, (86 + j) * s), fill=rgb)
        d.arc((30 * s, 16 * s, 66 * s, 60 * s), 180, 360, fill=rgb, width=max(2, int(5 * s)))
    else:  # Pants
        d.polygon([(28 * s, 6 * s), (68 * s, 6 * s), ((74 + j) * s, 90 * s), (54 * s, 90 * s), (48 * s, 30 * s),
                   (42 * s, 90 * s), ((22 - j) * s, 90 * s)], fill=rgb)
    return img


def make_catalog(folder: Path, per_combo: int = 2, with_color: bool = True, extra_rows: list[list] | None = None
                 ) -> Path:
    """A catalog CSV of CATEGORIES × COLORS × per_combo products (prices 10, 15, …), images beside it."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows, k = [], 0
    for cat in CATEGORIES:
        for color, rgb in COLORS.items():
            for n in range(per_combo):
                pid = f"{cat[:3].lower()}-{color}-{n}"
                draw_product(cat, rgb, jitter=n * 3).save(images / f"{pid}.png")
                rows.append([pid, f"images/{pid}.png", f"{color} {cat.lower()} {n}", cat,
                             color if with_color and n % 2 == 0 else "", 10 + 5 * k])
                k += 1
    rows += extra_rows or []
    path = folder / "catalog.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "image", "name", "category", "color", "price"])
        w.writerows(rows)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_binary() -> str:
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.exists() else (shutil.which("chroma") or "chroma")


@contextlib.contextmanager
def chroma_server(path: Path, timeout: float = 60.0, port: int | None = None) -> Iterator[str]:
    """Start `chroma run --path PATH --port FREE` on 127.0.0.1; yield its URL; stop it afterwards."""
    import urllib.request

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(path.parent / f"chroma-{port}.log", "wb")
    proc = subprocess.Popen([_chroma_binary(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start: {(path.parent / f'chroma-{port}.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def die_on_visual_upsert(monkeypatch, store, nth: int = 2) -> None:
    """Make the ``nth`` write to the visual collection raise KeyboardInterrupt: a build that "dies" after
    that batch reached the CLIP collection but not the visual one (undo with ``monkeypatch.undo()``)."""
    calls = {"n": 0}
    original = store.visual.upsert

    def dying_upsert(**kw):
        calls["n"] += 1
        if calls["n"] == nth:
            raise KeyboardInterrupt
        return original(**kw)

    monkeypatch.setattr(store.visual, "upsert", dying_upsert)
