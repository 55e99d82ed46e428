"""API calls per generation: the adaptive poll schedule against fixed 5 s polling.

Generations of 10 s, 60 s and 300 s (each +-20 %, K of each) run in the sandbox; for each one a real
``CreatifyGenerationTrigger`` waits on it, either with the product's adaptive schedule (poll_interval
30 s, at least 5 s) or fixed at 5 s. Counted from the sandbox's request log: status requests per
generation. Measured by the client: detection delay (the generation's done time to the trigger's event).

Time is scaled (``--time-scale 0.1`` runs a 300 s generation in 30 s, and every interval with it): the
request counts and the delay as a share of the generation's time do not depend on the scale; delays are
reported in unscaled seconds.

Usage: python -m benchmarks.poll_schedule [--per-class 8] [--time-scale 0.1] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

DURATIONS = (10.0, 60.0, 300.0)
POLL_INTERVAL = 30.0  # the user's setting: the longest wait of the adaptive schedule
FIXED_INTERVAL = 5.0
TARGET_RATIO = 2.0
TARGET_DELAY_SHARE = 0.10
RESULTS = Path(__file__).resolve().parent / "results"


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
    from airflow_provider_creatify.hooks.creatify import generation_path
    from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger

    async with lock:  # the sandbox's duration is a setting read at create time: one create at a time
        sandbox.settings.generation_seconds = real_seconds * scale
        generation = await asyncio.to_thread(hook.create_generation, "nano-banana", {"prompt": schedule})
        done_at = time.time() + real_seconds * scale  # the POST answered just after the clock started
    adaptive = schedule == "adaptive"
    trigger = CreatifyGenerationTrigger(
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


async def _measure(sandbox: Any, per_class: int, scale: float, seed: int) -> list[dict[str, Any]]:
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    rng = random.Random(seed)
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


def run(per_class: int = 8, time_scale: float = 0.1, seed: int = 1) -> dict[str, Any]:
    """Run the comparison; return per-class and overall figures with the targets."""
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings

    with CreatifySandbox(SandboxSettings(seed=seed)) as sandbox:
        os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
        runs = asyncio.run(_measure(sandbox, per_class, time_scale, seed))

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
    return {
        "benchmark": "poll_schedule",
        "per_class": per_class,
        "time_scale": time_scale,
        "adaptive": {"poll_interval_s": POLL_INTERVAL, "min_poll_interval_s": 5.0, "age_fraction": 0.2},
        "fixed_interval_s": FIXED_INTERVAL,
        "targets": {"fewer_requests_x": TARGET_RATIO, "median_delay_share": TARGET_DELAY_SHARE},
        "rows": rows,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"API calls per generation (adaptive: <= {POLL_INTERVAL:g} s, >= 5 s, a fifth of the age; "
        f"fixed: {FIXED_INTERVAL:g} s; {result['per_class']} per class, time scale {result['time_scale']})"
    )
    print(
        f"{'generation':>10} | {'requests adaptive':>17} {'fixed':>6} {'fewer':>6} | "
        f"{'median delay adaptive':>21} {'fixed':>12} | target"
    )
    for row in result["rows"]:
        a, f = row["adaptive"], row["fixed"]
        label = f"{row['generation_s']:g} s" if row["generation_s"] != "all" else "all"
        print(
            f"{label:>10} | {a['requests_per_generation']:17.1f} {f['requests_per_generation']:6.1f} "
            f"{row['fewer_requests_x']:5.1f}x | "
            f"{a['median_delay_s']:6.1f} s ({a['median_delay_share']:5.1%}) "
            f"{f['median_delay_s']:5.1f} s ({f['median_delay_share']:4.0%}) | "
            f"{'met' if row['meets_targets'] else 'missed'}"
        )
    print(
        f"targets: >= {TARGET_RATIO:g}x fewer requests than fixed, median delay <= {TARGET_DELAY_SHARE:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--smoke", action="store_true", help="2 per class at time scale 0.02")
    args = parser.parse_args()
    result = run(2, 0.02) if args.smoke else run(args.per_class, args.time_scale)
    print_table(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "poll_schedule.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
