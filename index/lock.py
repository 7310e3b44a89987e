"""One writer per embedded index: an advisory lock file beside the Chroma store.

Two ``stylist index build`` runs on the same embedded path would interleave SQLite and HNSW writes from
two processes, which Chroma does not support. The second builder refuses with the first one's pid instead.
The lock is ``flock``-based, so the kernel drops it when its holder dies (even by ``kill -9``): a crashed
build never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from stylist.errors import StylistError

LOCK_NAME = "stylist-build.lock"
_HELD: set[Path] = set()  # folders this process holds: re-entering (CLI, then build_index) is a no-op


class IndexBusyError(StylistError):
    """Another process is writing to the same embedded index."""


@contextlib.contextmanager
def index_write_lock(folder: Path | None) -> Iterator[None]:
    """Hold the write lock on the embedded index in ``folder`` (no-op for a Chroma server: ``folder`` None).

    Take it before opening the store: even opening an embedded Chroma store may write to it.
    """
    if folder is None or Path(folder).resolve() in _HELD:
        yield
        return
    folder = Path(folder).resolve()
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; a single builder is the operator's job
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise IndexBusyError(f"another index build (pid {holder}) is writing to {folder}; "
                                 "wait for it to finish, then run this build again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD.add(folder)
        try:
            yield
        finally:
            _HELD.discard(folder)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
