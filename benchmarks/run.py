"""Run the benchmarks: each prints its table and targets and writes ``benchmarks/results/<name>.json``.

A summary of every target closes the output (``summary.json``). How: docs/development.md, "Benchmarks".

Usage: python -m benchmarks.run [--smoke] [--only triggerer_cost,poll_schedule] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    RESULTS_DIR,
    execute,
    format_machine,
    format_targets,
    machine_info,
    write_results,
)

BENCHMARKS = (
    "parse_overhead",
    "poll_schedule",
    "triggerer_cost",
    "triggerer_soak",
    "airflow_e2e",
    "create_burst",
    "batch_scale",
)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run the selected benchmarks one after the other; exit 1 if one failed to run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the small sizes the test suite runs")
    parser.add_argument("--only", type=lambda text: text.split(","), default=list(BENCHMARKS))
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    if unknown := set(args.only) - set(BENCHMARKS):
        parser.error(
            f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}"
        )

    print(f"Machine: {format_machine(machine_info())}\n", flush=True)
    summary: dict[str, Any] = {"machine": machine_info(), "smoke": args.smoke, "benchmarks": {}}
    for name in args.only:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} ({'smoke' if args.smoke else 'full'}) ==", flush=True)
        started = time.monotonic()
        result = execute(module, smoke=args.smoke, results_dir=args.results_dir)
        print(f"({time.monotonic() - started:.0f} s)\n", flush=True)
        summary["benchmarks"][name] = result["targets"]

    print("== summary ==")
    for name, checks in summary["benchmarks"].items():
        print(f" {name}:")
        print(format_targets(checks))
    print(f"JSON: {write_results('summary' + ('_smoke' if args.smoke else ''), summary, args.results_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
