"""Per-stage wall-clock timing of a search, for the benchmarks (``timings=`` of ``Stylist`` methods)."""
from __future__ import annotations

import time


class StageClock:
    """Adds elapsed seconds per stage into ``sink`` (a no-op when sink is None)."""

    def __init__(self, sink: dict[str, float] | None = None):
        self.sink = sink
        self.t = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap (or the start) to ``stage``."""
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[stage] = self.sink.get(stage, 0.0) + now - self.t
        self.t = now


__all__ = ["StageClock"]
