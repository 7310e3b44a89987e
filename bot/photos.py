"""Shoppers' photos on disk under STYLIST_HOME, so a session survives a restart without holding pixels.

A session stores only the photo's file name; the picture is written once (JPEG, at most KEEP_SIDE
pixels a side) and read back when a search needs it, through a small in-memory cache. Files are
written to a temporary name and renamed, so concurrent writers never leave a half-written photo.
The folder is bounded twice: photos idle longer than the session TTL are removed, then the oldest go
until the total is under the size cap. A session whose photo is gone is treated as expired.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from PIL import Image

KEEP_SIDE = 1600  # the models work far smaller; boxes refer to this copy
CACHE_PHOTOS = 16  # decoded photos kept in memory (most recent first)
SWEEP_EVERY_S = 30.0


class PhotoStore:
    """Photos by name in ``folder``; ``max_bytes`` and ``ttl_s`` bound the folder."""

    def __init__(self, folder: str | Path, max_bytes: int, ttl_s: float) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.ttl_s = int(max_bytes), float(ttl_s)
        self._cache: OrderedDict[str, Image.Image] = OrderedDict()
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def put(self, image: Image.Image) -> str:
        """Store ``image`` (shrunk to KEEP_SIDE); returns its name. The same picture gets the same name."""
        if max(image.size) > KEEP_SIDE:
            image = image.copy()
            image.thumbnail((KEEP_SIDE, KEEP_SIDE))
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=90)
        data = buf.getvalue()
        name = hashlib.sha1(data).hexdigest()[:20] + ".jpg"
        path = self.folder / name
        if not path.exists():
            tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        else:
            os.utime(path)
        with self._lock:
            self._cache[name] = Image.open(io.BytesIO(data)).convert("RGB")
            self._trim_cache()
        self.sweep(keep=name)
        return name

    def exists(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def get(self, name: str) -> Image.Image | None:
        """The photo, or None when it was cleaned up (expired or over the cap)."""
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
        path = self.folder / name
        try:
            with Image.open(path) as im:
                image = im.convert("RGB")
            os.utime(path)  # in use: the idle clock restarts
        except (OSError, ValueError):
            return None
        with self._lock:
            self._cache[name] = image
            self._trim_cache()
        return image

    def remove(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)
        (self.folder / name).unlink(missing_ok=True)

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*.jpg"))

    def sweep(self, force: bool = False, keep: str | None = None) -> int:
        """Remove photos idle longer than the TTL, then the oldest until under the cap (never ``keep``, the
        photo just stored); returns how many were removed."""
        now = time.time()
        if not force and time.monotonic() < self._next_sweep:
            return 0
        self._next_sweep = time.monotonic() + SWEEP_EVERY_S
        files = []
        for path in self.folder.glob("*.jpg"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, path))
        files.sort()
        total, removed = sum(size for _, size, _ in files), 0
        for mtime, size, path in files:
            if now - mtime <= self.ttl_s and total <= self.max_bytes:
                break
            if path.name == keep:
                continue
            self.remove(path.name)
            total -= size
            removed += 1
        return removed

    def _trim_cache(self) -> None:
        while len(self._cache) > CACHE_PHOTOS:
            self._cache.popitem(last=False)
