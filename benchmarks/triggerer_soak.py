"""Triggerer soak: ~N waits live all the time in one event loop, for minutes to an hour: lag, RSS, growth.

Three processes: the feeder (the sandbox and the client that creates generations), the triggerer
(measured) and this one, which starts both and reports. Method and figures: docs/performance.md,
"Ten thousand waits, and an hour of them".
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, Annotated, Any

from benchmarks import probes
from benchmarks.common import (
    child_command,
    format_table,
    log_as_trigger_runner,
    main,
    run_child,
    slope_per_minute,
    target,
)
from devtools.sandbox_process import child_env, raise_open_files_limit

NAME = "triggerer_soak"
WAITS = 10_000
MINUTES = 10.0  # the short run; the soak, by hand: --minutes 60
WARMUP_MINUTES = 5.0
MIN_SECONDS, MAX_SECONDS = 30.0, 240.0  # generation lengths, uniform
POLL_INTERVAL, MIN_POLL_INTERVAL = 10.0, 5.0  # the product's defaults
SMOKE: dict[str, Any] = {
    "waits": 300,
    "minutes": 20 / 60,
    "warmup_minutes": 8 / 60,
    "min_seconds": 3.0,
    "max_seconds": 8.0,
    "poll_interval": 1.0,
    "min_poll_interval": 0.5,
}
HEARTBEAT_SECONDS = 0.01
SEED = 23  # of the generation lengths (the feeder's) and the sandbox
REFILL_SECONDS = 0.2  # how often ended waits are replaced (asked of the feeder together)


def feed(cfg: dict[str, Any], requests_fd: int, ids_fd: int) -> None:
    """Serve the sandbox; for each ``k`` read, create k generations and write ``<id> <done at>`` lines."""
    import requests

    from airflow_provider_creatify.endpoints import GENERATIONS_PATH
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings
    from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

    rng = random.Random(cfg["seed"])
    with tempfile.TemporaryDirectory(prefix="creatify-soak-tls-") as tls:
        cert, key = write_self_signed_certificate(Path(tls))
        settings = SandboxSettings(credits=1e12, seed=cfg["seed"])
        with (
            CreatifySandbox(settings, ssl_certfile=str(cert), ssl_keyfile=str(key)) as sandbox,
            requests.Session() as session,
        ):
            print(json.dumps({"conn": sandbox.connection_json(), "ca": str(cert)}), flush=True)
            session.headers.update({"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key})
            url, n = sandbox.url(GENERATIONS_PATH), 0
            with open(requests_fd, "rb") as asked, open(ids_fd, "wb", buffering=0) as out:
                for line in asked:
                    lines = []
                    for _ in range(int(line)):
                        seconds = rng.uniform(cfg["min_seconds"], cfg["max_seconds"])
                        settings.generation_seconds = seconds  # read by this create, one at a time
                        n += 1
                        body = {"model_name": "nano-banana", "input_params": {"prompt": f"soak {n}"}}
                        response = session.post(url, json=body, timeout=60, verify=str(cert))
                        response.raise_for_status()
                        lines.append(f"{response.json()['id']} {time.time() + seconds:.3f}\n")
                    out.write("".join(lines).encode())


class Soak:
    """~``waits`` triggers live in this event loop; what they cost, in aggregates that do not grow."""

    def __init__(self, cfg: dict[str, Any], requests_fd: int, ids_fd: int, feeder_pid: int) -> None:
        self.cfg = cfg
        self.asked: IO[bytes] = open(requests_fd, "wb", buffering=0)  # noqa: SIM115 (closed in run())
        self.ids_fd = ids_fd
        self.feeder_pid = feeder_pid
        self.live: set[asyncio.Task[None]] = set()
        self.to_refill = 0
        self.statuses: Counter[str] = Counter()
        self.delays = probes.Histogram(0.01, 12_000)  # seconds
        self.lag = probes.LoopLag(probes.GcPauses(keep=2000), HEARTBEAT_SECONDS, early="warmup")
        self.lag.measuring = False
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS, live waits)

    async def _consume(self, trigger: Any, done_at: float) -> None:
        async for event in trigger.run():  # as the triggerer runs a trigger
            if self.lag.measuring:
                self.statuses[event.payload["status"]] += 1
                self.delays.add(max(0.0, time.time() - done_at))
        self.to_refill += 1

    async def _start_triggers(self) -> None:
        from benchmarks.triggerer_variants import CREATED_STATUS, ProductTrigger

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**20)
        ids = open(self.ids_fd, "rb")  # noqa: SIM115 (the pipe lives as long as the process)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), ids)
        while line := await reader.readline():
            generation_id, done_at = line.decode().split()
            trigger = ProductTrigger(
                generation_id=generation_id,
                deadline=float(done_at) + 600,
                poll_interval=self.cfg["poll_interval"],
                min_poll_interval=self.cfg["min_poll_interval"],
                last_status=CREATED_STATUS,  # as the operator defers what it created
            )
            task = asyncio.create_task(self._consume(trigger, float(done_at)))
            self.live.add(task)
            task.add_done_callback(self.live.discard)

    async def _refill(self, stop: asyncio.Event) -> None:
        self.asked.write(f"{self.cfg['waits']}\n".encode())
        while not stop.is_set():
            await asyncio.sleep(REFILL_SECONDS)
            if self.to_refill:
                self.asked.write(f"{self.to_refill}\n".encode())  # a few bytes: the pipe never fills
                self.to_refill = 0

    async def _sample(self, stop: asyncio.Event, t0: float, every: float) -> None:
        while not stop.is_set():
            now = time.monotonic() - t0
            self.samples.append((now, probes.rss_bytes(), len(self.live)))
            if len(self.samples) % max(1, round(60 / every)) == 0:  # a progress line a minute
                print(
                    f"  {now / 60:5.1f} min: {len(self.live)} live, RSS {probes.rss_bytes() / 2**20:.0f} MB",
                    flush=True,
                )
            await asyncio.sleep(every)

    async def run(self) -> dict[str, Any]:
        from benchmarks.triggerer_variants import POLLS, ProductTrigger

        cfg = self.cfg
        # first use of the code path (imports, connection lookup, session): before the baseline
        async with ProductTrigger(generation_id="warm-up", deadline=0).hook as hook:
            await hook.aget_generations(["warm-up"])  # one batched read (of an id the sandbox lacks)
        gc.collect()
        rss_before = probes.rss_bytes()
        stop = asyncio.Event()
        t0 = time.monotonic()
        every = min(5.0, cfg["minutes"] * 60 / 200)
        gc.callbacks.append(self.lag.gc_pauses)
        helpers = [
            asyncio.create_task(self._start_triggers()),
            asyncio.create_task(self._refill(stop)),
            asyncio.create_task(probes.heartbeat(self.lag, stop, HEARTBEAT_SECONDS)),
            asyncio.create_task(self._sample(stop, t0, every)),
        ]
        await asyncio.sleep(cfg["warmup_minutes"] * 60)
        warm = len(self.samples)
        self.lag.gc_pauses.reset()
        POLLS.reset()
        self.lag.measuring = True
        start = probes.Usage.now(self.feeder_pid)
        creator_cpu = probes.process_cpu_seconds(self.feeder_pid, thread=self.feeder_pid)
        await asyncio.sleep((cfg["minutes"] - cfg["warmup_minutes"]) * 60)
        self.samples.append((time.monotonic() - t0, probes.rss_bytes(), len(self.live)))
        self.lag.measuring = False
        used = probes.Usage.now(self.feeder_pid) - start
        creator_cpu = probes.process_cpu_seconds(self.feeder_pid, thread=self.feeder_pid) - creator_cpu
        stop.set()
        gc.callbacks.remove(self.lag.gc_pauses)
        self.asked.close()  # the feeder stops
        for task in [*self.live, *helpers]:
            task.cancel()
        await asyncio.gather(*self.live, *helpers, return_exceptions=True)

        after = self.samples[warm:]
        rss_median = sorted(r for _, r, _ in after)[len(after) // 2]
        live_mean = sum(n for _, _, n in after) / len(after)
        minute = max(1, sum(1 for t, _, _ in after if t <= after[0][0] + 60))
        rss_warm = sum(r for _, r, _ in after[:minute]) / minute
        rss_end = sum(r for _, r, _ in after[-minute:]) / minute
        return {
            "live_mean": live_mean,
            "live_min": min(n for _, _, n in after),
            "waits_ended": sum(self.statuses.values()),
            "event_statuses": dict(self.statuses),
            **POLLS.figures(used),
            "sandbox_cpu_share": (used.other - creator_cpu) / used.wall,
            "creator_cpu_share": creator_cpu / used.wall,
            **self.lag.figures(),
            "detection_delay_median_s": self.delays.percentile(50),
            "detection_delay_p95_s": self.delays.percentile(95),
            "rss_before_mb": rss_before / 2**20,
            "rss_kb_per_wait": (rss_median - rss_before) / 1024 / live_mean if live_mean else None,
            "rss_warm_mb": rss_warm / 2**20,
            "rss_end_mb": rss_end / 2**20,
            "rss_growth_pct": 100 * (rss_end - rss_warm) / rss_warm,
            "rss_slope_kb_per_min": slope_per_minute([(t, r / 1024) for t, r, _ in after]),
            "rss_samples": [[round(t, 1), round(r / 2**20, 2), n] for t, r, n in self.samples],
        }


def soak(cfg: dict[str, Any], requests_fd: int, ids_fd: int, feeder_pid: int) -> dict[str, Any]:
    raise_open_files_limit()
    log_as_trigger_runner()
    return asyncio.run(Soak(cfg, requests_fd, ids_fd, feeder_pid).run())


def _start_feeder(
    cfg: dict[str, Any], log: IO[str]
) -> tuple[subprocess.Popen[str], dict[str, str], int, int]:
    """The feeder process; returns it, the triggerer's environment and the triggerer's two pipe ends."""
    asked_r, asked_w = os.pipe()
    ids_r, ids_w = os.pipe()
    command = child_command("benchmarks.triggerer_soak", "feed", cfg=cfg, requests_fd=asked_r, ids_fd=ids_w)
    feeder = subprocess.Popen(
        command, pass_fds=(asked_r, ids_w), stdout=subprocess.PIPE, stderr=log, text=True, env=child_env()
    )
    os.close(asked_r)
    os.close(ids_w)
    assert feeder.stdout is not None
    try:
        started = json.loads(feeder.stdout.readline())
    except ValueError:
        feeder.kill()
        log.seek(0)
        raise RuntimeError(f"The feeder did not start:\n{log.read()[-3000:]}") from None
    ca = started["ca"]
    env = child_env(AIRFLOW_CONN_CREATIFY_DEFAULT=started["conn"], SSL_CERT_FILE=ca, REQUESTS_CA_BUNDLE=ca)
    return feeder, env, asked_w, ids_r


def run(
    waits: Annotated[int, "live waits"] = WAITS,
    *,
    minutes: Annotated[float, "the whole run (the soak by hand: 60)"] = MINUTES,
    warmup_minutes: Annotated[float, "left out"] = WARMUP_MINUTES,
    min_seconds: Annotated[float, "the shortest generation"] = MIN_SECONDS,
    max_seconds: Annotated[float, "the longest generation"] = MAX_SECONDS,
    poll_interval: float = POLL_INTERVAL,
    min_poll_interval: float = MIN_POLL_INTERVAL,
) -> dict[str, Any]:
    """Feeder and triggerer processes; return the triggerer's figures and targets."""
    cfg = {**locals(), "seed": SEED}  # every keyword, for both child processes
    if not 0 < warmup_minutes < minutes:
        raise ValueError("the warm-up must be shorter than the run")
    with tempfile.TemporaryFile("w+") as log:
        feeder, env, asked_w, ids_r = _start_feeder(cfg, log)
        fds = (asked_w, ids_r)
        try:
            found = run_child(
                "benchmarks.triggerer_soak",
                "soak",
                env=env,
                timeout=60 * minutes + 600,
                pass_fds=fds,
                cfg=cfg,
                requests_fd=asked_w,
                ids_fd=ids_r,
                feeder_pid=feeder.pid,
            )
        finally:
            for fd in fds:
                os.close(fd)
            feeder_exit = feeder.poll()  # None: still serving, as it should be
            feeder.terminate()
            feeder.wait(30)
        if feeder_exit is not None:
            log.seek(0)
            raise RuntimeError(f"The feeder stopped early (exit {feeder_exit}):\n{log.read()[-5000:]}")
    row = {"n": waits, **found, "feeder_kept_up": found["live_mean"] >= 0.95 * waits}
    targets = [
        target(
            f"worst loop lag net of GC, ~{waits} live", row["loop_lag_max_ms_without_gc"], 100.0, unit="ms"
        ),
        target(f"RSS per live wait, ~{waits} live", row["rss_kb_per_wait"], 15.0, unit="KB"),
        target(f"RSS growth after warm-up, {minutes:g} min", row["rss_growth_pct"], 5.0, unit="%"),
    ]
    return {"settings": {**cfg, "transport": "https"}, "rows": [row], "targets": targets}


def smoke() -> dict[str, Any]:
    """The smoke size: 300 waits, 3-8 s generations, 0.5-1 s polls, 20 s of which 8 s warm-up."""
    return run(**SMOKE)


COLUMNS = [
    ("n", "N", "d"),
    ("live_mean", "live", ".0f"),
    ("waits_ended", "ended", "d"),
    *probes.WAIT_COLUMNS,
    ("loop_lag_p99_ms", "lag p99 ms", ".1f"),
    ("loop_cpu_max_ms_without_gc", "on-CPU ms", ".0f"),
    ("rss_kb_per_wait", "RSS KB/wait", ".1f"),
    ("rss_warm_mb", "RSS warm MB", ".1f"),
    ("rss_end_mb", "RSS end MB", ".1f"),
    ("rss_growth_pct", "growth %", ".2f"),
    ("rss_slope_kb_per_min", "KB/min", ".0f"),
    ("detection_delay_median_s", "delay med s", ".2f"),
    ("sandbox_cpu_share", "sandbox CPU", ".0%"),
    ("creator_cpu_share", "creator CPU", ".0%"),
    ("other_load_cores", "other load", ".2f"),
]

BEHIND = "NO (fewer waits live than asked: the feeder, or the machine, fell behind)"


def report(result: dict[str, Any]) -> str:
    """The row as a table, a legend, and the GC pauses."""
    s, row = result["settings"], result["rows"][0]
    gc_ms = ", ".join(f"{ms:.0f}" for ms in row["gc_longest_pause_ms"])
    return "\n".join(
        [
            f"Triggerer soak: ~{s['waits']} live waits in one event loop for {s['minutes']:g} min "
            f"({s['warmup_minutes']:g} min warm-up left out), {s['min_seconds']:g}-{s['max_seconds']:g} s "
            f"generations, polls every {s['min_poll_interval']:g}-{s['poll_interval']:g} s, HTTPS, loopback",
            "",
            format_table(result["rows"], COLUMNS),
            "",
            "What each column is: docs/performance.md#ten-thousand-waits-and-an-hour-of-them",
            f"Longest GC pause per generation (ms): {gc_ms}; lag max during warm-up: "
            f"{row['loop_lag_max_ms_warmup']:.0f} ms; fewest live: {row['live_min']}; "
            f"feeder kept up: {'yes' if row['feeder_kept_up'] else BEHIND}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
