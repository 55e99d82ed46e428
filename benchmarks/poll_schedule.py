"""API calls per generation: the adaptive poll schedule against fixed 5 s polling.

Method and figures: docs/performance.md, "API calls per generation".
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from typing import Annotated, Any

from benchmarks.common import format_table, main, target

NAME = "poll_schedule"
DURATIONS = (10.0, 60.0, 300.0)
POLL_INTERVAL = 30.0  # the user's setting: the longest wait of the adaptive schedule
FIXED_INTERVAL = 5.0
TARGET_RATIO = 2.0
TARGET_DELAY_SHARE = 0.10
SEED = 1  # of the generation lengths and the sandbox


async def _one(
    sandbox: Any,
    hook: Any,
    lock: asyncio.Lock,
    duration: float,
    real_seconds: float,
    schedule: str,
    scale: float,
) -> dict[str, Any]:
    """Create one generation and wait on it with a trigger at once; return what was measured."""
    from airflow_provider_creatify.endpoints import generation_path
    from benchmarks.triggerer_variants import PerIdTrigger  # reads its generation alone: reads are countable

    async with lock:  # the sandbox's duration is a setting read at create time: one create at a time
        sandbox.settings.generation_seconds = real_seconds * scale
        generation = await asyncio.to_thread(hook.create_generation, "nano-banana", {"prompt": schedule})
        done_at = time.time() + real_seconds * scale  # the POST answered just after the clock started
    adaptive = schedule == "adaptive"
    trigger = PerIdTrigger(
        generation_id=generation.id,
        deadline=time.time() + 3 * duration * scale + 60,
        poll_interval=(POLL_INTERVAL if adaptive else FIXED_INTERVAL) * scale,
        min_poll_interval=(5.0 if adaptive else FIXED_INTERVAL) * scale,
    )
    async for _event in trigger.run():
        detected = time.time()
    return {
        "class": duration,
        "schedule": schedule,
        "seconds": real_seconds,
        "requests": sandbox.count("GET", generation_path(generation.id)),
        "delay": max(0.0, detected - done_at) / scale,
    }


async def _measure(sandbox: Any, per_class: int, scale: float) -> list[dict[str, Any]]:
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    rng = random.Random(SEED)
    hook = CreatifyHook()
    hook.list_models()  # resolve the connection and warm the session before the clock matters
    lock = asyncio.Lock()
    jobs = []
    for duration in DURATIONS:
        for _ in range(per_class):
            real_seconds = duration * rng.uniform(0.8, 1.2)
            for schedule in ("adaptive", "fixed"):
                jobs.append(_one(sandbox, hook, lock, duration, real_seconds, schedule, scale))
    return list(await asyncio.gather(*jobs))


def run(
    per_class: Annotated[int, "generations of each length"] = 8,
    time_scale: Annotated[float, "0.1: a 300 s generation in 30 s, and every interval with it"] = 0.1,
) -> dict[str, Any]:
    """Run the comparison; return per-class and overall figures with the targets."""
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings

    with CreatifySandbox(SandboxSettings(seed=SEED)) as sandbox:
        os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
        runs = asyncio.run(_measure(sandbox, per_class, time_scale))

    def summary(selected: list[dict[str, Any]]) -> dict[str, float]:
        return {
            "requests_per_generation": statistics.mean(r["requests"] for r in selected),
            "median_delay_s": statistics.median(r["delay"] for r in selected),
            "median_delay_share": statistics.median(r["delay"] / r["seconds"] for r in selected),
        }

    rows = []
    for duration in (*DURATIONS, None):
        row: dict[str, Any] = {"generation_s": duration or "all"}
        for schedule in ("adaptive", "fixed"):
            selected = [r for r in runs if r["schedule"] == schedule and duration in (None, r["class"])]
            row[schedule] = summary(selected)
        row["fewer_requests_x"] = (
            row["fixed"]["requests_per_generation"] / row["adaptive"]["requests_per_generation"]
        )
        row["meets_targets"] = (
            row["fewer_requests_x"] >= TARGET_RATIO
            and row["adaptive"]["median_delay_share"] <= TARGET_DELAY_SHARE
        )
        rows.append(row)
    fewer, share = rows[-1]["fewer_requests_x"], 100 * rows[-1]["adaptive"]["median_delay_share"]
    targets = [
        target(
            "fewer status requests than fixed 5 s polling, all", fewer, TARGET_RATIO, at_least=True, unit="x"
        ),
        target("median detection delay / generation time, all", share, 100 * TARGET_DELAY_SHARE, unit="%"),
    ]
    return {
        "per_class": per_class,
        "time_scale": time_scale,
        "durations_s": list(DURATIONS),  # the generation lengths compared, one row each
        "rows": rows,
        "targets": targets,
    }


def smoke() -> dict[str, Any]:
    """One generation per class at time scale 0.02 (a 300 s generation in 6 s)."""
    return run(per_class=1, time_scale=0.02)


COLUMNS = [
    ("generation", "generation", ""),
    ("adaptive", "requests adaptive", ".1f"),
    ("fixed", "fixed 5 s", ".1f"),
    ("fewer_requests_x", "fewer x", ".1f"),
    ("delay_adaptive", "median delay adaptive", ""),
    ("delay_fixed", "fixed 5 s", ""),
    ("meets_targets", "targets met", ""),
]


def report(result: dict[str, Any]) -> str:
    rows = []
    for row in result["rows"]:
        label = f"{row['generation_s']:g} s" if row["generation_s"] != "all" else "all"
        shown = {**row, "generation": label}
        for schedule in ("adaptive", "fixed"):
            s = row[schedule]
            shown[schedule] = s["requests_per_generation"]
            shown[f"delay_{schedule}"] = f"{s['median_delay_s']:.1f} s ({s['median_delay_share']:.1%})"
        rows.append(shown)
    title = (
        f"API calls per generation (adaptive: <= {POLL_INTERVAL:g} s, >= 5 s, a fifth of the age; fixed: "
        f"{FIXED_INTERVAL:g} s; {result['per_class']} per class, time scale {result['time_scale']})"
    )
    return f"{title}\n\n{format_table(rows, COLUMNS)}"


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
