"""What the triggerer benchmarks watch inside a process: RSS, garbage-collector pauses, loop lag.

``triggerer_cost`` and ``triggerer_soak`` share them; ``batch_scale`` samples a process group's RSS.
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from benchmarks.common import rss_bytes


class RssSampler(threading.Thread):
    """Samples an RSS (``measure``: this process's) every ``interval`` s; keeps the first and the peak."""

    def __init__(self, interval: float, measure: Callable[[], int] = rss_bytes) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.interval = interval
        self.measure = measure
        self.before = self.peak = measure()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, self.measure())

    def finish(self) -> int:
        """Stop sampling; return the peak seen."""
        self._done.set()
        self.join()
        self.peak = max(self.peak, self.measure())
        return self.peak


class GcPauses:
    """Garbage-collector pauses, seen through ``gc.callbacks``: count, longest and total per generation.

    The pauses themselves are kept (the ``keep`` most recent), to take them out of each heartbeat.
    """

    def __init__(self, keep: int | None = None) -> None:
        self.reset()
        self.intervals: deque[tuple[float, float, float]] = deque(maxlen=keep)  # (start, end, CPU s)
        self._start = self._cpu = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if phase == "start":
            self._start, self._cpu = now, cpu
            return
        generation, pause = info["generation"], now - self._start
        self.count[generation] += 1
        self.longest[generation] = max(self.longest[generation], pause)
        self.total += pause
        self.total_cpu += cpu - self._cpu
        self.intervals.append((self._start, now, cpu - self._cpu))

    def reset(self) -> None:
        """Start counting anew (the pauses kept stay, for the heartbeats that overlap them)."""
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.total = self.total_cpu = 0.0

    def overlap(self, start: float, end: float) -> tuple[float, float]:
        """Seconds of collection between ``start`` and ``end``, and the CPU seconds they took."""
        wall = cpu = 0.0
        for a, b, used in reversed(self.intervals):
            if b < start:
                break
            part = max(0.0, min(end, b) - max(start, a))
            wall += part
            cpu += used * part / (b - a) if b > a else 0.0
        return wall, cpu

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


class Histogram:
    """Values in fixed-width buckets (the last one open-ended), with their count and exact max."""

    def __init__(self, width: float, buckets: int) -> None:
        self.width = width
        self.counts = [0] * buckets
        self.count = 0
        self.max = 0.0

    def add(self, value: float) -> None:
        self.counts[min(len(self.counts) - 1, max(0, int(value / self.width)))] += 1
        self.count += 1
        self.max = max(self.max, value)

    def percentile(self, q: float) -> float | None:
        """The upper edge of the bucket holding the ``q``-th percentile (capped at the max)."""
        if not self.count:
            return None
        rank, seen = math.ceil(self.count * q / 100), 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return min(self.max, (i + 1) * self.width)
        return self.max


#: What a heartbeat hands on after each beat: when it started, when it woke, the thread's CPU in between.
Beat = Callable[[float, float, float], None]


async def heartbeat(on_beat: Beat, stop: asyncio.Event, every: float) -> None:
    """Sleep ``every`` seconds until ``stop``; hand each beat on (its lag: ``woke - start - every``)."""
    while not stop.is_set():
        start, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(every)
        on_beat(start, time.perf_counter(), time.thread_time() - cpu)
