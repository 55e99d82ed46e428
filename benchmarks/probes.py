"""What the benchmarks measure: CPU, RSS and load from ``/proc`` (Linux), GC pauses and loop lag."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size now, from ``/proc/<pid>/statm`` (Linux)."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE_SIZE


def peak_rss_bytes() -> int | None:
    """Peak RSS (``VmHWM``) since start or since :func:`reset_peak_rss`; ``None`` if unknown."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs``); ``False`` if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def process_cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds of another process (or of one ``thread`` of it), from ``/proc``."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14, 15)


def _group_stats(pgids: Collection[int]) -> Iterable[tuple[str, list[str]]]:
    """(pid, the fields of its ``/proc/<pid>/stat`` after the name) of every process in these groups."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[2]) in pgids:  # pgrp
            yield stat.parent.name, fields


def group_cpu_seconds(pgids: Collection[int]) -> float:
    """CPU seconds of every process in these process groups, their reaped children's included."""
    ticks = sum(sum(int(x) for x in fields[11:15]) for _, fields in _group_stats(pgids))  # utime .. cstime
    return ticks / _CLOCK_TICKS


def group_rss_bytes(pgid: int) -> int:
    total = 0
    for pid, _ in _group_stats({pgid}):
        try:
            total += rss_bytes(pid)
        except OSError:  # exited meanwhile
            continue
    return total


def system_busy_seconds() -> float:
    """CPU seconds used by all processes since boot (all cores, from ``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _CLOCK_TICKS


def wait_for_quiet(timeout: float, max_busy_cores: float = 0.3) -> None:
    """Wait up to ``timeout`` s until other work leaves the machine nearly idle (one-second samples)."""
    deadline = time.monotonic() + timeout
    while timeout > 0:
        start = system_busy_seconds()
        time.sleep(1.0)
        busy = system_busy_seconds() - start
        if busy <= max_busy_cores:
            return
        if time.monotonic() >= deadline:
            print(f"  warning: the machine is still busy ({busy:.2f} cores); measuring anyway", flush=True)
            return
        print(f"  waiting for the machine to be quiet ({busy:.2f} cores busy)...", end="\r", flush=True)


@dataclass(frozen=True)
class Usage:
    """CPU and wall seconds: this process's (all, system), another process's, and the whole machine's."""

    cpu: float
    system: float
    wall: float
    busy: float  # every process on the machine
    other: float  # the process ``pid``

    @classmethod
    def now(cls, pid: int | None = None) -> Usage:
        other = process_cpu_seconds(pid) if pid else 0.0
        return cls(time.process_time(), os.times().system, time.perf_counter(), system_busy_seconds(), other)

    def __sub__(self, start: Usage) -> Usage:
        return Usage(*(a - b for a, b in zip(astuple(self), astuple(start), strict=True)))

    @property
    def other_load_cores(self) -> float:
        """Cores busy with neither this process nor ``pid``."""
        return max(0.0, self.busy - self.cpu - self.other) / self.wall


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
