"""Triggerer cost: N concurrent Creatify waits in one event loop: baseline, per-id, batched and naive.

Each (N, variant) runs twice in fresh processes against one sandbox process: a CPU pass, then a latency
pass beside the heartbeat and RSS sampler. Method and figures: docs/performance.md, "Triggerer cost".
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import io
import pstats
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from airflow.triggers.base import BaseTrigger

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from benchmarks import probes
from benchmarks.common import (
    RESULTS_DIR,
    format_table,
    log_as_trigger_runner,
    main,
    percentile,
    run_child,
    target,
)
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
HEARTBEAT_SECONDS = 0.01
RSS_SAMPLE_SECONDS = 0.05
#: The baseline is not run above this N: at 5000 polls/s it would need about 13 cores of this VM.
BASELINE_MAX_N = 1000
#: The batched trigger's targets: (its row's figure, the N it is judged at, limit, at least, unit, what).
TARGETS = (
    ("requests_per_poll", 1000, 0.015, False, "", "status requests per wait-poll"),
    ("cpu_vs_naive_x", 1000, 1.3, False, "x", "CPU per wait-poll vs the naive loop"),
    ("requests_per_poll", 5000, 0.015, False, "", "status requests per wait-poll"),
    ("cpu_vs_naive_x", 5000, 1.3, False, "x", "CPU per wait-poll vs the naive loop"),
    ("cpu_vs_per_id_x", 1000, 3.0, True, "x", "less CPU per wait-poll than per-id"),
    ("cpu_vs_baseline_x", 1000, 10.0, True, "x", "less CPU per wait-poll than baseline"),
    ("rss_kb_per_generation", 1000, 30.0, False, "KB", "RSS per wait"),
    ("delay_vs_peer_s", 1000, 1.0, False, "s", "median detection delay minus per-id's (or naive's)"),
    ("loop_lag_max_ms_without_gc", 5000, 100.0, False, "ms", "worst loop lag without GC pauses"),
)


async def _consume(trigger: BaseTrigger, events: list[dict[str, Any]]) -> None:
    async for event in trigger.run():  # as the triggerer runs a trigger
        events.append({**event.payload, "seen_at": time.time()})


def _create_generations(n: int) -> dict[str, float]:
    """Create ``n`` generations; id -> when its answer came (``time.time()``): it is done that much later."""
    hook = CreatifyHook()
    created = {}
    for i in range(n):
        generation = hook.create_generation("nano-banana", {"prompt": f"benchmark {i}"})
        assert generation.status == CREATED_STATUS, generation
        created[generation.id] = time.time()
    return created


async def _warm_up(trigger: BaseTrigger, generation_id: str) -> None:
    """One read through the trigger's code path: imports and first-use costs stay out of the numbers."""
    if isinstance(trigger, BaselineTrigger):
        await trigger.poll()
    elif isinstance(trigger, ProductTrigger):
        async with trigger.hook as hook:
            await hook.aget_generation(generation_id)
    else:
        await NAIVE.open()
        await NAIVE.read(generation_id)
        await NAIVE.close()


async def _measure(
    variant: str,
    n: int,
    *,
    generation_seconds: float,
    poll_interval: float,
    sandbox_pid: int,
    harness: bool,
    profiler: cProfile.Profile | None,
) -> dict[str, Any]:
    """Warm up, create N generations, wait on them with N triggers of ``variant``: every figure."""
    (warm_id,) = _create_generations(1)
    await _warm_up(make_trigger(variant, warm_id, time.time() + 60, poll_interval), warm_id)
    POLLS.reset()
    created = _create_generations(n)  # blocking, but nothing else runs yet

    gc.collect()
    rss_before = probes.rss_bytes()
    exact_peak = probes.reset_peak_rss()
    sampler = probes.RssSampler(RSS_SAMPLE_SECONDS) if harness else None
    if sampler:
        sampler.start()
    deadline = time.time() + 5 * generation_seconds + 120
    triggers = [make_trigger(variant, gid, deadline, poll_interval) for gid in created]
    lag = probes.LoopLag(probes.GcPauses(), HEARTBEAT_SECONDS, early="first_2_polls")
    events: list[dict[str, Any]] = []
    stop = asyncio.Event()
    beating = asyncio.create_task(probes.heartbeat(lag, stop, HEARTBEAT_SECONDS)) if harness else None
    lag.early_until = time.perf_counter() + 2 * poll_interval  # every trigger makes its first read
    start = probes.Usage.now(sandbox_pid)
    with lag.gc_pauses, profiler or contextlib.nullcontext():
        await asyncio.gather(*(_consume(trigger, events) for trigger in triggers))
    used = probes.Usage.now(sandbox_pid) - start
    stop.set()
    if beating:
        await beating
    peaks = [probes.rss_bytes(), sampler.finish() if sampler else 0]
    if exact_peak:
        peaks.append(probes.peak_rss_bytes() or 0)
    rss_kb = (max(peaks) - rss_before) / 1024 / n

    statuses = Counter(event.get("status") for event in events)
    delays = [e["seen_at"] - created[e["generation_id"]] - generation_seconds for e in events]
    return {
        "cpu": {  # what the CPU pass (no heartbeat, no sampler) measures
            **POLLS.figures(used),
            "polls_per_trigger": POLLS.calls / n,
            "sandbox_cpu_share": used.other / used.wall,
            "detection_delay_median_s": percentile(delays, 50) if delays else None,
            "detection_delay_p95_s": percentile(delays, 95) if delays else None,
            "events": len(events),
            "event_statuses": dict(statuses),
            "all_done": len(events) == n and statuses.get("done", 0) == n,
        },
        "latency": {
            "harness": harness,
            **lag.figures(),
            "rss_kb_per_generation": rss_kb,
        },
    }


def measure(variant: str, n: int, *, profile_path: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Measure one (N, variant) in this process: the latency pass with ``harness``, else the CPU pass."""
    raise_open_files_limit()
    log_as_trigger_runner()
    profiler = cProfile.Profile(time.process_time) if profile_path else None
    found = asyncio.run(_measure(variant, n, profiler=profiler, **kwargs))
    if profiler and profile_path:
        title = f"{variant}, N={n}, {found['cpu']['polls']} polls, {found['cpu']['cpu_seconds']:.2f} s CPU"
        out = io.StringIO()
        out.write(f"cProfile of the wait: {title}\n\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(45)
        Path(profile_path).parent.mkdir(parents=True, exist_ok=True)
        Path(profile_path).write_text(out.getvalue())
    return found


def evaluate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batched trigger's targets, each at its N (or the largest N run)."""
    sizes = {row["n"] for row in rows}
    batched = {row["n"]: row for row in rows if row["variant"] == "batched"}
    found = {}
    for key, n, limit, at_least, unit, what in TARGETS:
        n = n if n in sizes else max(sizes)
        value = batched.get(n, {}).get(key)
        found[f"{what}, N={n}"] = target(f"{what}, N={n}", value, limit, at_least=at_least, unit=unit)
    return list(found.values())


def _compare(rows: Sequence[dict[str, Any]]) -> None:
    """Each row's CPU per wait-poll against the other variants' at its N, and its delay against a peer's."""
    for row in rows:
        peers = {r["variant"]: r for r in rows if r["n"] == row["n"]}
        mine = row["cpu_ms_per_poll"]
        for other in ("baseline", "per_id"):
            theirs = peers.get(other, {}).get("cpu_ms_per_poll")
            row[f"cpu_vs_{other}_x"] = theirs / mine if theirs and mine else None
        naive = peers.get("naive", {}).get("cpu_ms_per_poll")
        row["cpu_vs_naive_x"] = mine / naive if mine and naive else None
        delay = row["detection_delay_median_s"]
        peer = (peers.get("per_id") or peers.get("naive") or {}).get("detection_delay_median_s")
        row["delay_vs_peer_s"] = delay - peer if delay is not None and peer is not None else None


def run(
    sizes: Annotated[Sequence[int], "comma-separated N"] = SIZES,
    *,
    generation_seconds: float = GENERATION_SECONDS,
    poll_interval: float = POLL_INTERVAL,
    variants: Annotated[Sequence[str], "comma-separated"] = tuple(VARIANTS),
    quiet_timeout: Annotated[float, "wait up to this long for an idle machine"] = 300.0,
    parallel: Annotated[int, "measurements at once"] = 1,
    plain_http: Annotated[bool, "the sandbox serves HTTP, not HTTPS"] = False,
    profile: Annotated[str | None, "cProfile this variant's CPU pass at the largest N, nothing else"] = None,
) -> dict[str, Any]:
    """Run every (N, variant) against one sandbox process (``parallel`` above 1: they disturb each other)."""
    if profile:
        variants, sizes = (profile,), (max(sizes),)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"Unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")

    def one(n: int, variant: str) -> dict[str, Any]:
        path = RESULTS_DIR / f"{NAME}_profile_{variant}_{n}.txt" if profile else None
        passes = []
        for harness in (False,) if profile else (False, True):
            probes.wait_for_quiet(quiet_timeout)
            found = run_child(
                "benchmarks.triggerer_cost",
                "measure",
                env=child_env(**sandbox.client_env()),
                timeout=10 * generation_seconds + 600,
                variant=variant,
                n=n,
                generation_seconds=generation_seconds,
                poll_interval=poll_interval,
                sandbox_pid=sandbox.pid,
                profile_path=str(path) if path else None,
                harness=harness,
            )
            passes.append(found)
        cpu, latency, with_harness = passes[0]["cpu"], passes[-1]["latency"], passes[-1]["cpu"]
        row = {"variant": variant, "n": n, **latency, **cpu, "profile": str(path) if path else None}
        row["cpu_ms_per_poll_with_harness"] = with_harness["cpu_ms_per_poll"] if latency["harness"] else None
        row["other_load_cores"] = max(cpu["other_load_cores"], with_harness["other_load_cores"])
        row["all_done"] = cpu["all_done"] and with_harness["all_done"]
        print(f"  N={n:<5} {variant:<16} {row['cpu_ms_per_poll'] or 0:.3f} ms/poll", flush=True)
        return row

    jobs = [(n, v) for n in sizes for v in variants if v != "baseline" or n <= BASELINE_MAX_N]
    count = len(jobs) * (1 if profile else 2)
    print(f"Running {count} measurements (CPU and latency passes), each in a fresh process...", flush=True)
    with (
        SandboxProcess(generation_seconds=generation_seconds, tls=not plain_http) as sandbox,
        ThreadPoolExecutor(parallel) as pool,  # above 1: only to check that everything runs
    ):
        rows = list(pool.map(lambda job: one(*job), jobs))
    _compare(rows)
    return {
        "settings": {
            "sizes": list(sizes),
            "transport": "http" if plain_http else "https",
            "generation_seconds": generation_seconds,
            "poll_interval": poll_interval,
            "all_variants": list(VARIANTS),  # those it knows; "variants": those this run ran
        },
        "variants": {name: VARIANTS[name] for name in variants},
        "rows": rows,
        "targets": evaluate(rows),
    }


def smoke() -> dict[str, Any]:
    """The smoke size: N=20, 1 s generations, 0.2 s polls, two measurements at a time (for the tests)."""
    return run((20,), generation_seconds=1.0, poll_interval=0.2, quiet_timeout=0, parallel=2)


COLUMNS = [
    ("n", "N", "d"),
    ("variant", "variant", ""),
    *probes.WAIT_COLUMNS,
    ("cpu_vs_baseline_x", "vs baseline", ".1f"),
    ("cpu_vs_per_id_x", "vs per-id", ".1f"),
    ("cpu_vs_naive_x", "x naive", ".2f"),
    ("gc_gen2_longest_ms", "full GC ms", ".0f"),
    ("rss_kb_per_generation", "RSS KB/wait", ".1f"),
    ("detection_delay_median_s", "delay med s", ".2f"),
    ("sandbox_cpu_share", "sandbox CPU", ".0%"),
    ("wall_seconds", "wall s", ".1f"),
    ("all_done", "all done", ""),
    ("other_load_cores", "other load", ".2f"),
]


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
            "What each column is: docs/performance.md#triggerer-cost",
            *(
                f"cProfile of {r['variant']} at N={r['n']}: {r['profile']}"
                for r in result["rows"]
                if r["profile"]
            ),
        ]
    )


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
