"""DAG-parse overhead: what importing the provider's operator and sensor adds over ``import airflow.sdk``.

Method and figures: docs/performance.md, "DAG-parse overhead".
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from benchmarks.common import format_table, main, target
from benchmarks.probes import wait_for_quiet
from devtools.sandbox_process import child_env

NAME = "parse_overhead"
RUNS = 15
OUR_MODULES = ("airflow_provider_creatify.operators.creatify", "airflow_provider_creatify.sensors.creatify")
#: Our import must not add these: the worker's and triggerer's clients, and the trigger machinery.
FORBIDDEN_MODULES = ("requests", "aiohttp", "airflow.triggers.base")
#: Modules worth naming if our import adds them (a module counts with its submodules).
HEAVY_MODULES = (*FORBIDDEN_MODULES, "urllib3", "httpx", "jsonschema", "uvicorn", "pendulum")

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
before = set(sys.modules)
if {ours!r}:
    for name in {modules!r}:
        __import__(name)
t2 = time.perf_counter()
added = sorted(set(sys.modules) - before)
sdk_has = {{h: any(m == h or m.startswith(h + ".") for m in before) for h in {heavy!r}}}
origin = getattr(sys.modules.get("airflow_provider_creatify"), "__file__", None) or ""
result = {{"sdk_s": t1 - t0, "ours_s": t2 - t1, "added": added, "sdk_has": sdk_has, "origin": origin}}
print(json.dumps(result))
"""
_MARK = "--creatify-benchmark-mark--"
PACKAGE = "airflow_provider_creatify"


def compiled_copy(directory: Path) -> Path:
    """Copy the package into ``directory`` and byte-compile it, as installing a wheel does; return the dir."""
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGE} is not installed")
    target_dir = directory / PACKAGE
    shutil.copytree(
        next(iter(spec.submodule_search_locations)), target_dir, ignore=shutil.ignore_patterns("__pycache__")
    )
    compileall.compile_dir(str(target_dir), quiet=1)
    return directory


def _python(*args: str, path: Path | None) -> subprocess.CompletedProcess[str]:
    """Run a child interpreter, ``path`` (a compiled copy of the package) first; raise if it fails."""
    env = child_env(PYTHONDONTWRITEBYTECODE="1")  # never write __pycache__ into the source tree
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env["PYTHONPATH"]])
    done = subprocess.run(  # not in the repository: "python -c" puts the working directory first
        [sys.executable, *args],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python {args[:2]} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done


def _child(ours: bool, path: Path | None) -> dict[str, Any]:
    done = _python("-c", _CHILD.format(ours=ours, modules=OUR_MODULES, heavy=HEAVY_MODULES), path=path)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if ours and path is not None and not result["origin"].startswith(str(path)):
        raise RuntimeError(f"{PACKAGE} was imported from {result['origin']}, not from the compiled copy")
    return result


def importtime(path: Path | None) -> dict[str, Any]:
    """``python -X importtime`` of our modules after ``airflow.sdk``: top modules by self time, and totals."""
    imports = "; ".join(f"import {name}" for name in OUR_MODULES)
    code = f"import airflow.sdk, sys; sys.stderr.write({_MARK!r} + '\\n'); {imports}"
    done = _python("-X", "importtime", "-c", code, path=path)
    lines = done.stderr.split(_MARK, 1)[1].splitlines()
    modules: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|", 2))
        modules.append({"module": name, "self_us": int(self_us), "cumulative_us": int(cumulative_us)})
    return {
        "modules_imported": len(modules),
        "total_self_ms": sum(m["self_us"] for m in modules) / 1000,
        "top_self": sorted(modules, key=lambda m: m["self_us"], reverse=True)[:12],
    }


def _has(modules: Sequence[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "all": list(values)}


def run(
    runs: Annotated[int, "fresh interpreters of each kind"] = RUNS,
    *,
    quiet_timeout: Annotated[float, "wait up to this long for an idle machine"] = 300.0,
    parallel: Annotated[int, "interpreters at once"] = 1,
) -> dict[str, Any]:
    """Time R fresh interpreters of each kind, interleaved: sdk alone, ours compiled, ours from source."""
    wait_for_quiet(quiet_timeout)
    with tempfile.TemporaryDirectory(prefix="creatify-parse-") as tmp:
        compiled = compiled_copy(Path(tmp))
        _child(True, compiled)  # warm-up: page cache
        kinds = [(False, None), (True, compiled), (True, None)] * runs  # interleaved
        with ThreadPoolExecutor(parallel) as pool:
            results = list(pool.map(lambda kind: _child(*kind), kinds))
        alone, with_ours, from_source = results[0::3], results[1::3], results[2::3]
        profile = importtime(compiled)
    ours_ms = [1000 * r["ours_s"] for r in with_ours]
    added = sorted(set().union(*(r["added"] for r in with_ours)))
    heavy = {
        name: {"loaded_by_airflow_sdk": with_ours[0]["sdk_has"][name], "added_by_ours": _has(added, name)}
        for name in HEAVY_MODULES
    }
    forbidden_added = [name for name in FORBIDDEN_MODULES if heavy[name]["added_by_ours"]]
    return {
        "runs": runs,
        "modules": list(OUR_MODULES),
        "forbidden_modules": list(FORBIDDEN_MODULES),
        "import_airflow_sdk_ms": _summary([1000 * r["sdk_s"] for r in alone]),
        "ours_after_sdk_ms": _summary(ours_ms),
        "ours_after_sdk_no_bytecode_ms": _summary([1000 * r["ours_s"] for r in from_source]),
        "added_modules": added,
        "added_module_count": len(added),
        "heavy_modules": heavy,
        "importtime": profile,
        "targets": [
            target(
                "import of our modules after airflow.sdk (median)",
                statistics.median(ours_ms),
                20.0,
                unit="ms",
            ),
            target(f"heavy modules added ({', '.join(FORBIDDEN_MODULES)})", float(len(forbidden_added)), 0),
        ],
    }


def smoke() -> dict[str, Any]:
    """Three runs, two at a time, no waiting for a quiet machine (for the test suite)."""
    return run(3, quiet_timeout=0, parallel=2)


HEAVY_COLUMNS = [
    ("module", "module", ""),
    ("loaded_by_airflow_sdk", "loaded by airflow.sdk", ""),
    ("added_by_ours", "added by ours", ""),
]


def report(result: dict[str, Any]) -> str:
    """The timings, the modules our import adds, and where the import time goes."""
    ours, sdk = result["ours_after_sdk_ms"], result["import_airflow_sdk_ms"]
    src = result["ours_after_sdk_no_bytecode_ms"]
    heavy_rows = [{"module": name, **flags} for name, flags in result["heavy_modules"].items()]
    it = result["importtime"]
    lines = [
        f"DAG-parse overhead of {', '.join(result['modules'])} ({result['runs']} fresh interpreters each)",
        "",
        f"import airflow.sdk alone:        median {sdk['median']:.1f} ms (min {sdk['min']:.1f})",
        f"our modules after airflow.sdk:   median {ours['median']:.1f} ms (min {ours['min']:.1f}), "
        "byte-compiled as a wheel install leaves them",
        f"  the same without byte-code:    median {src['median']:.1f} ms (min {src['min']:.1f}), "
        "compiled at each import (PYTHONDONTWRITEBYTECODE=1, as in this repository)",
        f"modules added to sys.modules:    {result['added_module_count']}",
        "",
        format_table(heavy_rows, HEAVY_COLUMNS),
        "",
        f"python -X importtime after airflow.sdk: {it['modules_imported']} modules, "
        f"{it['total_self_ms']:.1f} ms self time; top by self time:",
        format_table(
            it["top_self"],
            [("module", "module", ""), ("self_us", "self us", "d"), ("cumulative_us", "cumulative us", "d")],
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
