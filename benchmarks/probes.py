"""What the triggerer-cost benchmark watches inside a process: RSS, garbage-collector pauses, loop lag."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

from benchmarks.common import rss_bytes


class RssSampler(threading.Thread):
    """Samples this process's RSS every ``interval`` seconds; keeps the peak."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.interval = interval
        self.peak = rss_bytes()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def finish(self) -> int:
        """Stop sampling; return the peak seen."""
        self._done.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


class GcPauses:
    """Garbage-collector pauses (through ``gc.callbacks``): count and longest, per generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.total = 0.0
        self.intervals: list[tuple[float, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        end = time.perf_counter()
        pause = end - self._start
        generation = info["generation"]
        self.count[generation] += 1
        self.longest[generation] = max(self.longest[generation], pause)
        self.total += pause
        self.intervals.append((self._start, end))

    def overlap(self, start: float, end: float) -> float:
        """Seconds of collection between ``start`` and ``end``."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.intervals)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


async def heartbeat(lags: list[tuple[float, float]], stop: asyncio.Event, every: float) -> None:
    """Every ``every`` seconds: (when it woke, how late it woke)."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(every)
        now = time.perf_counter()
        lags.append((now, now - start - every))
