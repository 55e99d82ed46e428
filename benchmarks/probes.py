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
        self._done.set()
        self.join()
        self.peak = max(self.peak, self.measure())
        return self.peak


class GcPauses:
    """Garbage-collector pauses (``gc.callbacks``): the longest per generation; the ``keep`` latest, to take
    out of heartbeats."""

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
        self.longest[generation] = max(self.longest[generation], pause)
        self.intervals.append((self._start, now, cpu - self._cpu))

    def reset(self) -> None:
        """Forget the longest pauses (the pauses kept stay, for the heartbeats that overlap them)."""
        self.longest = [0.0, 0.0, 0.0]

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


class LoopLag:
    """A heartbeat's lags, as histograms: all, net of the GC pauses within each beat, and the loop's CPU.

    While not ``measuring`` a beat counts only in ``early_max`` (a warm-up); so does one that woke before
    ``early_until`` (``time.perf_counter()``: a start-up burst).
    """

    def __init__(self, gc_pauses: GcPauses, every: float, early: str) -> None:
        self.gc_pauses = gc_pauses
        self.every = every
        self.early = early  # what the early beats are, for the name of their figure
        self.lags, self.net, self.cpu = (Histogram(0.0005, 4000) for _ in range(3))
        self.early_max = 0.0
        self.early_until = -math.inf
        self.measuring = True

    def __call__(self, start: float, woke: float, cpu: float) -> None:
        lag = woke - start - self.every
        if woke < self.early_until or not self.measuring:
            self.early_max = max(self.early_max, lag)
        if self.measuring:
            gc_wall, gc_cpu = self.gc_pauses.overlap(start, woke)
            self.lags.add(lag)
            self.net.add(max(0.0, lag - gc_wall))
            self.cpu.add(max(0.0, cpu - gc_cpu))  # the most the loop could be late on an idle core

    def figures(self) -> dict[str, Any]:
        """The lags and the GC pauses in milliseconds (``None``: no beat)."""
        gc = self.gc_pauses

        def ms(value: float | None) -> float | None:
            return None if value is None or not self.lags.count else 1000 * value

        return {
            "loop_lag_max_ms": ms(self.lags.max),
            "loop_lag_p99_ms": ms(self.lags.percentile(99)),
            "loop_lag_max_ms_without_gc": ms(self.net.max),
            "loop_lag_p99_ms_without_gc": ms(self.net.percentile(99)),
            "loop_cpu_max_ms_without_gc": ms(self.cpu.max),
            f"loop_lag_max_ms_{self.early}": ms(self.early_max),
            "gc_longest_pause_ms": [1000 * pause for pause in gc.longest],
            "gc_gen2_longest_ms": 1000 * gc.longest[2],
        }


#: The table columns of what the triggerer benchmarks measure of a wait: wait-polls, CPU, loop lag.
WAIT_COLUMNS = [
    ("polls", "wait-polls", "d"),
    ("requests_per_poll", "req/poll", ".3f"),
    ("cpu_ms_per_poll", "CPU ms/poll", ".3f"),
    ("cpu_share", "CPU share", ".0%"),
    ("loop_lag_max_ms", "lag max ms", ".0f"),
    ("loop_lag_max_ms_without_gc", "lag no-GC ms", ".0f"),
]


async def heartbeat(on_beat: LoopLag, stop: asyncio.Event, every: float) -> None:
    """Sleep ``every`` seconds until ``stop``; hand each beat on (its lag: ``woke - start - every``)."""
    while not stop.is_set():
        start, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(every)
        on_beat(start, time.perf_counter(), time.thread_time() - cpu)
