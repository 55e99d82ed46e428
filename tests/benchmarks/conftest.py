"""Each benchmark runs as a program at its smoke size (``python -m benchmarks.run --smoke``), the way a
developer runs it: the tests read what it printed and the JSON it wrote, and import nothing of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import REPO


@dataclass(frozen=True)
class SmokeRun:
    """What one benchmark's smoke run left: its result (its JSON file) and its report (tables, targets)."""

    result: dict[str, Any]
    report: str


@pytest.fixture(scope="session")
def run_smoke(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SmokeRun]:
    """``run_smoke("poll_schedule")``: that benchmark's smoke size, in a child process, results to a
    temporary folder. Its JSON is written without ``default=str``: a run that succeeds left pure JSON."""

    def run(name: str) -> SmokeRun:
        results = tmp_path_factory.mktemp(name)
        command = [sys.executable, "-m", "benchmarks.run", "--smoke", "--only", name]
        done = subprocess.run(
            [*command, "--results-dir", str(results)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        report = done.stdout.split(f"== {name} (smoke) ==\n", 1)[1].split("\nJSON: ", 1)[0]
        return SmokeRun(json.loads((results / f"{name}_smoke.json").read_text()), report)

    return run
