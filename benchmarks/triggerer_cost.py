"""Triggerer cost: N concurrent Creatify waits in one event loop: baseline, per-id, batched and naive.

Each (N, variant) runs twice in fresh processes against one sandbox process: a CPU pass, then a latency
pass beside the heartbeat and RSS sampler. Method and figures: docs/performance.md, "Triggerer cost".
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from benchmarks.common import (
    RESULTS_DIR,
    Option,
    child_command,
    format_table,
    log_as_trigger_runner,
    main,
    peak_rss_bytes,
    percentile,
    process_cpu_seconds,
    reset_peak_rss,
    rss_bytes,
    system_busy_seconds,
    target,
    wait_for_quiet,
)
from benchmarks.probes import GcPauses, RssSampler, heartbeat
from benchmarks.triggerer_variants import (
    CREATED_STATUS,
    NAIVE,
    POLLS,
    VARIANTS,
    BaselineTrigger,
    ProductTrigger,
    make_trigger,
)
from devtools.sandbox_process import SandboxProcess, child_env, raise_open_files_limit

NAME = "triggerer_cost"
SIZES = (100, 1000, 5000)
GENERATION_SECONDS = 10.0
POLL_INTERVAL = 1.0
SMOKE_SIZES = (20,)
SMOKE_GENERATION_SECONDS = 1.0
SMOKE_POLL_INTERVAL = 0.2
MODEL_NAME = "nano-banana"
HEARTBEAT_SECONDS = 0.01
RSS_SAMPLE_SECONDS = 0.05
#: What the CPU pass (no harness) measures; every other figure comes from the latency pass.
CPU_PASS_KEYS = (
    "polls",
    "poll_errors",
    "polls_per_trigger",
    "cpu_seconds",
    "cpu_ms_per_poll",
    "cpu_system_ms_per_poll",
    "cpu_share",
    "sandbox_cpu_ms_per_poll",
    "sandbox_cpu_share",
    "status_requests",
    "requests_per_poll",
    "detection_delay_median_s",
    "detection_delay_p95_s",
)
MAX_OTHER_LOAD_CORES = 0.3  # other processes busier than this during a measurement: flagged "noisy"
#: The baseline is not run above this N: at 5000 polls/s it would need about 13 cores of this VM.
BASELINE_MAX_N = 1000
TARGET_N = 1000  # the N at which CPU against per-id and baseline, RSS and detection delay are judged
LAG_TARGET_N = 5000  # the N at which the worst loop lag (garbage-collection pauses taken out) is judged
FLOOR_TARGET_NS = (1000, 5000)  # the N at which requests and CPU against the naive loop are judged
TARGET_REQUESTS_PER_POLL = 0.015
TARGET_CPU_VS_NAIVE = 1.3  # at most this many times the naive loop's CPU per wait-poll
TARGET_CPU_VS_PER_ID = 3.0  # at least this many times less CPU per wait-poll than the per-id trigger
TARGET_CPU_VS_BASELINE = 10.0  # ... and than the baseline
TARGET_RSS_KB = 30.0  # peak RSS per wait
TARGET_DELAY_S = 1.0  # median detection delay at most this much worse than the per-id trigger's
TARGET_LAG_MS = 100.0
OPTIONS = (
    Option("--sizes", SIZES, "comma-separated N"),
    Option("--variants", tuple(VARIANTS), "comma-separated"),
    Option("--generation-seconds", GENERATION_SECONDS),
    Option("--poll-interval", POLL_INTERVAL),
    Option("--plain-http", False, "the sandbox serves HTTP, not HTTPS"),
    Option("--profile", None, "cProfile this variant's CPU pass at the largest N, nothing else"),
    Option("--quiet-timeout", 300.0, "wait up to this long for an idle machine"),
)


# -- measuring one (N, variant) in this process ----------------------------------------------------------


async def _consume(trigger: BaseTrigger, events: list[dict[str, Any]]) -> None:
    async for event in trigger.run():  # as the triggerer runs a trigger
        events.append({**event.payload, "seen_at": time.time()})


def _create_generations(base_url: str, headers: dict[str, str], n: int) -> dict[str, float]:
    """Create ``n`` generations; id -> when its answer came (``time.time()``): it is done that much later."""
    import requests

    with requests.Session() as session:
        session.headers.update(headers)
        created = {}
        for i in range(n):
            response = session.post(
                f"{base_url}/api/asset_generator/",
                json={"model_name": MODEL_NAME, "input_params": {"prompt": f"benchmark {i}"}},
                timeout=30,
            )
            response.raise_for_status()
            answer = response.json()
            assert answer["status"] == CREATED_STATUS, answer
            created[answer["id"]] = time.time()
    return created


async def _warm_up(variant: str, generation_id: str) -> None:
    """One read through the variant's code path: imports and first-use costs stay out of the numbers."""
    if variant == "naive":
        await NAIVE.open()
        await NAIVE.read(generation_id)
        await NAIVE.close()
        return
    if variant == "baseline":
        await BaselineTrigger(generation_id=generation_id, deadline=time.time() + 60).poll()
        return
    trigger = make_trigger(variant, generation_id, time.time() + 60, POLL_INTERVAL)
    assert isinstance(trigger, ProductTrigger)
    async with trigger.hook as hook:
        await hook.aget_generation(generation_id)


@dataclass
class Wait:
    """What one wait of N triggers cost, as the process saw it (the probes' findings included)."""

    cpu: float  # process CPU seconds, user + system
    system_cpu: float
    wall: float
    started: float  # time.perf_counter() when the triggers started
    sandbox_cpu: float | None  # the sandbox process's CPU seconds meanwhile
    system_busy: float  # CPU seconds of every process on the machine meanwhile
    gc_pauses: GcPauses
    lags: list[tuple[float, float]]  # (when a heartbeat woke, how late)


async def _run_wait(
    triggers: list[BaseTrigger],
    events: list[dict[str, Any]],
    *,
    harness: bool,
    sandbox_pid: int | None,
    profiler: cProfile.Profile | None,
) -> Wait:
    """Run the triggers to their events as the triggerer does; with ``harness``, beside a heartbeat."""
    lags: list[tuple[float, float]] = []
    stop = asyncio.Event()

    def beat(start: float, woke: float, cpu: float) -> None:
        lags.append((woke, woke - start - HEARTBEAT_SECONDS))

    beating = asyncio.create_task(heartbeat(beat, stop, HEARTBEAT_SECONDS)) if harness else None
    sandbox_cpu = process_cpu_seconds(sandbox_pid) if sandbox_pid else None
    system_busy, times = system_busy_seconds(), os.times()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    with GcPauses() as gc_pauses:
        await asyncio.gather(*(_consume(trigger, events) for trigger in triggers))
    if profiler:
        profiler.disable()
    found = Wait(
        cpu=time.process_time() - cpu,
        system_cpu=os.times().system - times.system,
        wall=time.perf_counter() - wall,
        started=wall,
        sandbox_cpu=process_cpu_seconds(sandbox_pid) - sandbox_cpu
        if sandbox_pid and sandbox_cpu is not None
        else None,
        system_busy=system_busy_seconds() - system_busy,
        gc_pauses=gc_pauses,
        lags=lags,
    )
    stop.set()
    if beating:
        await beating
    return found


def _lag_figures(wait: Wait, poll_interval: float) -> dict[str, Any]:
    """The loop's lag: all beats, the start-up burst, after it, and with garbage collections taken out."""
    # the first poll interval (plus one) holds the start-up burst: every trigger's first read at once
    burst_end = wait.started + 2 * poll_interval
    all_lags = [lag for _, lag in wait.lags]
    burst_lags = [lag for woke, lag in wait.lags if woke <= burst_end]
    steady_lags = [lag for woke, lag in wait.lags if woke > burst_end]
    # each heartbeat's lag minus the garbage collections inside it: what the code itself held the loop
    code_lags = [
        max(0.0, lag - wait.gc_pauses.overlap(woke - lag - HEARTBEAT_SECONDS, woke)[0])
        for woke, lag in wait.lags
    ]

    def ms(values: list[float], pct: float = 100) -> float | None:
        return 1000 * percentile(values, pct) if values else None

    return {
        "loop_lag_max_ms": ms(all_lags),
        "loop_lag_p99_ms": ms(all_lags, 99),
        "loop_lag_max_ms_first_2_polls": ms(burst_lags),
        "loop_lag_max_ms_after": ms(steady_lags),
        "loop_lag_p99_ms_after": ms(steady_lags, 99),
        "loop_lag_max_ms_without_gc": ms(code_lags),
        "heartbeats": len(wait.lags),
        "gc_collections": wait.gc_pauses.count,
        "gc_longest_pause_ms": [1000 * pause for pause in wait.gc_pauses.longest],
        "gc_total_pause_ms": 1000 * wait.gc_pauses.total,
        "gc_gen2_longest_ms": 1000 * wait.gc_pauses.longest[2],
    }


def _cpu_figures(wait: Wait, n: int) -> dict[str, Any]:
    """CPU, requests and wait-polls: per wait-poll, and as shares of a core."""
    polls, sandbox = POLLS.calls, wait.sandbox_cpu
    return {
        **POLLS.figures(wait.cpu, wait.system_cpu, wait.wall),
        "polls_per_trigger": polls / n,
        "cpu_seconds": wait.cpu,
        "sandbox_cpu_ms_per_poll": 1000 * sandbox / polls if polls and sandbox is not None else None,
        "sandbox_cpu_share": sandbox / wait.wall if sandbox is not None else None,
        "wall_seconds": wait.wall,
        "other_load_cores": max(0.0, wait.system_busy - wait.cpu - (sandbox or 0.0)) / wait.wall,
    }


def _event_figures(
    events: list[dict[str, Any]], created: dict[str, float], n: int, generation_seconds: float
) -> dict[str, Any]:
    """The events: how many, their statuses, and the detection delay (from the generation's end)."""
    statuses = Counter(event.get("status") for event in events)
    delays = [e["seen_at"] - created[e["generation_id"]] - generation_seconds for e in events]
    return {
        "detection_delay_median_s": percentile(delays, 50) if delays else None,
        "detection_delay_p95_s": percentile(delays, 95) if delays else None,
        "events": len(events),
        "event_statuses": dict(statuses),
        "all_done": len(events) == n and statuses.get("done", 0) == n,
    }


async def _measure(
    variant: str,
    n: int,
    generation_seconds: float,
    poll_interval: float,
    sandbox_pid: int | None,
    profile_path: Path | None,
    harness: bool,
) -> dict[str, Any]:
    """Warm up, create N generations, wait on them with N triggers of ``variant``: every figure."""
    creds = await CreatifyHook().acredentials()
    (warm_id,) = _create_generations(creds.base_url, creds.headers, 1)
    await _warm_up(variant, warm_id)
    POLLS.reset()
    create_start = time.perf_counter()
    created = _create_generations(creds.base_url, creds.headers, n)  # blocking, but nothing else runs yet
    create_seconds = time.perf_counter() - create_start

    gc.collect()
    rss_before = rss_bytes()
    exact_peak = reset_peak_rss()
    sampler = RssSampler(RSS_SAMPLE_SECONDS) if harness else None
    if sampler:
        sampler.start()
    deadline = time.time() + 5 * generation_seconds + 120
    # deferred as the operator defers a generation it created: with the status the create answered
    triggers = [make_trigger(variant, gid, deadline, poll_interval, CREATED_STATUS) for gid in created]
    tracked_objects = len(gc.get_objects())
    profiler = cProfile.Profile(time.process_time) if profile_path else None
    events: list[dict[str, Any]] = []
    wait = await _run_wait(triggers, events, harness=harness, sandbox_pid=sandbox_pid, profiler=profiler)
    peak = sampler.finish() if sampler else rss_bytes()
    hwm = peak_rss_bytes() if exact_peak else None
    peak = max(peak, hwm) if hwm else peak
    if profiler and profile_path:
        title = f"{variant}, N={n}, {POLLS.calls} polls, {wait.cpu:.2f} s CPU"
        _write_profile(profiler, profile_path, title)
    return {
        "variant": variant,
        "harness": harness,
        "n": n,
        "generation_seconds": generation_seconds,
        "poll_interval": poll_interval,
        "create_seconds": round(create_seconds, 3),
        **_cpu_figures(wait, n),
        **_event_figures(events, created, n, generation_seconds),
        **_lag_figures(wait, poll_interval),
        "gc_tracked_objects": tracked_objects,
        "rss_before_mb": rss_before / 2**20,
        "rss_peak_mb": peak / 2**20,
        "rss_kb_per_generation": (peak - rss_before) / 1024 / n,
        "rss_peak_exact": exact_peak,
        "profile": str(profile_path) if profile_path else None,
    }


def _write_profile(profiler: cProfile.Profile, path: Path, title: str) -> None:
    out = io.StringIO()
    out.write(f"cProfile of the wait: {title}\n\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(45)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue())


def measure(
    variant: str,
    n: int,
    *,
    generation_seconds: float = GENERATION_SECONDS,
    poll_interval: float = POLL_INTERVAL,
    sandbox_pid: int | None = None,
    profile_path: str | None = None,
    harness: bool = True,
) -> dict[str, Any]:
    """Measure one (N, variant) in this process: the latency pass with ``harness``, else the CPU pass."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    raise_open_files_limit()
    log_as_trigger_runner()
    path = Path(profile_path) if profile_path else None
    args = (variant, n, generation_seconds, poll_interval, sandbox_pid, path, harness)
    return asyncio.run(_measure(*args))


# -- the whole benchmark -----------------------------------------------------------------------------------


def _run_child(
    variant: str,
    n: int,
    generation_seconds: float,
    poll_interval: float,
    sandbox: SandboxProcess,
    *,
    harness: bool,
    profile_path: Path | None = None,
) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter; the triggers' log lines go to /dev/null."""
    with tempfile.TemporaryDirectory(prefix="creatify-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = child_command(
            "benchmarks.triggerer_cost",
            "measure",
            out,
            variant=variant,
            n=n,
            generation_seconds=generation_seconds,
            poll_interval=poll_interval,
            sandbox_pid=sandbox.pid,
            profile_path=str(profile_path) if profile_path else None,
            harness=harness,
        )
        done = subprocess.run(
            command,
            env=child_env(**sandbox.client_env()),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=10 * generation_seconds + 600,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"{variant} at N={n} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def evaluate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batched trigger's targets, each at its N (or the largest N run)."""
    by = {(row["variant"], row["n"]): row for row in rows}
    sizes = sorted({row["n"] for row in rows})
    n = TARGET_N if TARGET_N in sizes else max(sizes)
    lag_n = LAG_TARGET_N if LAG_TARGET_N in sizes else max(sizes)
    floor_ns = sorted({size if size in sizes else max(sizes) for size in FLOOR_TARGET_NS})
    batched, per_id, base = by.get(("batched", n)), by.get(("per_id", n)), by.get(("baseline", n))
    if batched is None:
        return []
    floor = []
    for floor_n in floor_ns:
        row = by.get(("batched", floor_n), {})
        floor.append(
            target(
                f"status requests per wait-poll, N={floor_n}",
                row.get("requests_per_poll"),
                TARGET_REQUESTS_PER_POLL,
            )
        )
        floor.append(
            target(
                f"CPU per wait-poll vs the naive loop, N={floor_n}",
                row.get("cpu_vs_naive_x"),
                TARGET_CPU_VS_NAIVE,
                unit="x",
            )
        )

    def ratio(other: dict[str, Any] | None) -> float | None:
        mine, theirs = batched["cpu_ms_per_poll"], other and other["cpu_ms_per_poll"]
        return theirs / mine if mine and theirs else None

    delay = batched["detection_delay_median_s"]
    peer = per_id or by.get(("naive", n))
    peer_delay = peer and peer["detection_delay_median_s"]
    lag_row = by.get(("batched", lag_n)) or batched
    return [
        *floor,
        target(
            f"less CPU per wait-poll than per-id, N={n}",
            ratio(per_id),
            TARGET_CPU_VS_PER_ID,
            at_least=True,
            unit="x",
        ),
        target(
            f"less CPU per wait-poll than baseline, N={n}",
            ratio(base),
            TARGET_CPU_VS_BASELINE,
            at_least=True,
            unit="x",
        ),
        target(f"RSS per wait, N={n}", batched["rss_kb_per_generation"], TARGET_RSS_KB, unit="KB"),
        target(
            f"median detection delay minus {'per-id' if per_id else 'naive'}'s, N={n}",
            delay - peer_delay if delay is not None and peer_delay is not None else None,
            TARGET_DELAY_S,
            unit="s",
        ),
        target(
            f"worst loop lag without GC pauses, N={lag_row['n']}",
            lag_row["loop_lag_max_ms_without_gc"],
            TARGET_LAG_MS,
            unit="ms",
        ),
    ]


def run(
    sizes: Sequence[int] = SIZES,
    *,
    generation_seconds: float = GENERATION_SECONDS,
    poll_interval: float = POLL_INTERVAL,
    variants: Sequence[str] = tuple(VARIANTS),
    quiet_timeout: float = 300.0,
    parallel: int = 1,
    plain_http: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Run every (N, variant) against one sandbox process; return rows and targets.

    ``parallel`` measurements run at once: above 1 they disturb each other (the smoke run uses 2).
    ``profile``: that variant's CPU pass alone, at the largest N, under cProfile (into ``results/``).
    """
    if profile:
        variants, sizes = (profile,), (max(sizes),)

    def one(n: int, variant: str) -> dict[str, Any]:
        passes = []
        for harness in (False,) if profile else (False, True):
            if quiet_timeout > 0:
                wait_for_quiet(MAX_OTHER_LOAD_CORES, quiet_timeout)
            path = RESULTS_DIR / f"{NAME}_profile_{variant}_{n}.txt" if profile else None
            passes.append(
                _run_child(
                    variant, n, generation_seconds, poll_interval, sandbox, harness=harness, profile_path=path
                )
            )
        cpu_pass, row = passes[0], passes[-1]
        row["cpu_ms_per_poll_with_harness"] = row["cpu_ms_per_poll"] if row["harness"] else None
        row.update({key: cpu_pass[key] for key in CPU_PASS_KEYS})
        row["all_done"] = row["all_done"] and cpu_pass["all_done"]
        row["noisy"] = max(row["other_load_cores"], cpu_pass["other_load_cores"]) > MAX_OTHER_LOAD_CORES
        print(f"  N={n:<5} {variant:<16} {row['cpu_ms_per_poll'] or 0:.3f} ms/poll", flush=True)
        return row

    jobs = [(n, v) for n in sizes for v in variants if v != "baseline" or n <= BASELINE_MAX_N]
    count = len(jobs) * (1 if profile else 2)
    print(f"Running {count} measurements (CPU and latency passes), each in a fresh process...", flush=True)
    with SandboxProcess(generation_seconds=generation_seconds, tls=not plain_http) as sandbox:
        if parallel > 1:  # only for a quick check that everything runs: the numbers disturb each other
            with ThreadPoolExecutor(parallel) as pool:
                rows = list(pool.map(lambda job: one(*job), jobs))
        else:
            rows = [one(*job) for job in jobs]
    for row in rows:
        for other in ("baseline", "per_id"):
            peer = next((r for r in rows if r["variant"] == other and r["n"] == row["n"]), None)
            ratio = peer and row["cpu_ms_per_poll"] and peer["cpu_ms_per_poll"] / row["cpu_ms_per_poll"]
            row[f"cpu_vs_{other}_x"] = ratio or None
        naive = next((r for r in rows if r["variant"] == "naive" and r["n"] == row["n"]), None)
        above = naive and naive["cpu_ms_per_poll"] and row["cpu_ms_per_poll"] / naive["cpu_ms_per_poll"]
        row["cpu_vs_naive_x"] = above or None
    targets = evaluate(rows)
    return {
        "settings": {
            "sizes": list(sizes),
            "transport": "http" if plain_http else "https",
            "generation_seconds": generation_seconds,
            "poll_interval": poll_interval,
            "heartbeat_seconds": HEARTBEAT_SECONDS,
            "model_name": MODEL_NAME,
            "all_variants": list(VARIANTS),  # those it knows; "variants": those this run ran
        },
        "variants": {name: VARIANTS[name] for name in variants},
        "rows": rows,
        "targets": targets,
    }


def smoke() -> dict[str, Any]:
    """The smoke size: N=20, 1 s generations, 0.2 s polls, two measurements at a time (for the tests)."""
    return run(
        SMOKE_SIZES,
        generation_seconds=SMOKE_GENERATION_SECONDS,
        poll_interval=SMOKE_POLL_INTERVAL,
        quiet_timeout=0,
        parallel=2,
    )


COLUMNS = [
    ("n", "N", "d"),
    ("variant", "variant", ""),
    ("polls", "wait-polls", "d"),
    ("requests_per_poll", "req/poll", ".3f"),
    ("cpu_ms_per_poll", "CPU ms/poll", ".3f"),
    ("cpu_vs_baseline_x", "vs baseline", ".1f"),
    ("cpu_vs_per_id_x", "vs per-id", ".1f"),
    ("cpu_vs_naive_x", "x naive", ".2f"),
    ("cpu_share", "CPU share", ".0%"),
    ("loop_lag_max_ms", "lag max ms", ".0f"),
    ("loop_lag_max_ms_without_gc", "lag no-GC ms", ".0f"),
    ("gc_gen2_longest_ms", "full GC ms", ".0f"),
    ("rss_kb_per_generation", "RSS KB/wait", ".1f"),
    ("detection_delay_median_s", "delay med s", ".2f"),
    ("sandbox_cpu_share", "sandbox CPU", ".0%"),
    ("wall_seconds", "wall s", ".1f"),
    ("all_done", "all done", ""),
    ("other_load_cores", "other load", ".2f"),
]


LEGEND = """\
wait-polls: status reads the waits made; req/poll: HTTP status requests per wait-poll.
CPU ms/poll: process CPU (user + system) over the wait / wait-polls, in a pass without the heartbeat
and RSS sampler; vs baseline / per-id: how many times less; x naive: how many times the naive loop's.
lag: how late a 10 ms heartbeat woke; no-GC = with garbage-collection pauses taken
out; full GC = longest generation-2 collection. RSS KB/wait: (peak RSS - RSS before the triggers) / N.
delay: from the generation's end to its event. sandbox CPU: cores the sandbox used (100 % = saturated).
other load: cores busy elsewhere."""


def report(result: dict[str, Any]) -> str:
    """The rows as a table, the variants and a legend."""
    s = result["settings"]
    return "\n".join(
        [
            f"Triggerer cost: N concurrent waits in one event loop ({s['generation_seconds']:g} s "
            f"generations, {s['poll_interval']:g} s polls, {s['transport'].upper()} on loopback)",
            "",
            format_table(result["rows"], COLUMNS),
            "",
            *(f"  {name}: {text}" for name, text in result["variants"].items()),
            f"  (the baseline is not run above N={BASELINE_MAX_N})",
            "",
            LEGEND,
            *(
                f"cProfile of {r['variant']} at N={r['n']}: {r['profile']}"
                for r in result["rows"]
                if r["profile"]
            ),
        ]
    )


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
