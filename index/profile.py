"""Where an index build's time goes: CPU and wall seconds per stage, summed over the threads that ran it.

CPU time is the thread's own (``time.thread_time``): the encoders run in one-thread sessions in the
calling thread, so their CPU is counted where they run, and it barely moves with other jobs' load — unlike
wall time on a shared machine. Chroma's writes may use threads of their own, so their CPU is a lower bound.
"""
from __future__ import annotations

import threading
import time
from typing import Callable


class StageProfile:
    """Thread-safe sums of (CPU s, wall s) per stage name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[str, list[float]] = {}

    def add(self, stage: str, cpu: float, wall: float) -> None:
        with self._lock:
            sums = self._sums.setdefault(stage, [0.0, 0.0])
            sums[0] += cpu
            sums[1] += wall

    def clock(self) -> Callable[[str], None]:
        """A lap timer for the calling thread: each call books the time since the previous one to ``stage``."""
        last = [time.thread_time(), time.perf_counter()]

        def lap(stage: str) -> None:
            cpu, wall = time.thread_time(), time.perf_counter()
            self.add(stage, cpu - last[0], wall - last[1])
            last[0], last[1] = cpu, wall

        return lap

    def table(self) -> dict[str, tuple[float, float]]:
        with self._lock:
            return {k: (round(v[0], 3), round(v[1], 3)) for k, v in self._sums.items()}


def format_profile(stages: dict[str, tuple[float, float]], items: int) -> str:
    """The profile as lines of CPU and wall ms per product, with the CPU total (what bounds items/s)."""
    if not items or not stages:
        return "(nothing embedded: no profile)"
    lines = [f"  {'stage':<40} {'CPU ms/item':>12} {'wall ms/item':>13}  (summed over threads)"]
    for stage, (cpu, wall) in stages.items():
        lines.append(f"  {stage:<40} {cpu / items * 1000:12.2f} {wall / items * 1000:13.2f}")
    total = sum(cpu for cpu, _ in stages.values()) / items * 1000
    lines.append(f"  {'CPU total':<40} {total:12.2f}   → at most {1000 / total:.0f} items/s per fully idle core")
    return "\n".join(lines)
