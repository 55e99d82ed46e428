"""Shared helpers for the benchmarks: command line, machine info, process measurements, statistics, tables.

Standard library only at import time: benchmarks that time imports use it too. The docstring examples
run as tests (``python -m doctest benchmarks/common.py``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def log_as_trigger_runner() -> None:
    """Log as Airflow's trigger runner does (3.1 to 3.3): JSON lines for the supervisor, here /dev/null."""
    from airflow.sdk.log import configure_logging

    configure_logging(json_output=True, output=open(os.devnull, "wb"), sending_to_supervisor=True)  # noqa: SIM115


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    """The installed version of a distribution, without importing it; ``None`` if absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info(packages: Iterable[str] = ("apache-airflow", "aiohttp", "requests")) -> dict[str, Any]:
    """Where the numbers come from: CPU, cores, OS, Python and package versions."""
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in packages},
    }


def format_machine(info: Mapping[str, Any]) -> str:
    packages = "".join(f", {name} {version}" for name, version in info["packages"].items())
    return (
        f"{info['cpu_model']}, {info['cores']} cores, {info['platform']}, Python {info['python']}{packages}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``(seconds, value)`` points, per minute; ``None`` without two times.

    >>> slope_per_minute([(0.0, 1.0), (60.0, 3.0), (120.0, 5.0)])
    2.0
    """
    if len({t for t, _ in points}) < 2:
        return None
    return 60 * statistics.linear_regression([t for t, _ in points], [v for _, v in points]).slope


def target(name: str, value: float | None, limit: float, *, at_least: bool = False, unit: str = "") -> dict:
    """A target and whether ``value`` meets it (``value <= limit``, or ``>=`` with ``at_least``).

    >>> target("x", 5.0, 3.0, at_least=True)["met"], target("x", 5.0, 3.0)["met"]
    (True, False)
    """
    met = value is not None and not math.isnan(value) and (value >= limit if at_least else value <= limit)
    return {"name": name, "value": value, "limit": limit, "at_least": at_least, "unit": unit, "met": met}


def format_targets(targets: Iterable[Mapping[str, Any]]) -> str:
    """Targets as lines: ``[met] name: value (target <= limit)``.

    >>> print(format_targets([target("tasks succeeded", 1000, 1000, at_least=True)]))
      [met] tasks succeeded: 1000 (target >= 1000)
    """
    lines = []
    for t in targets:
        value = "n/a" if t["value"] is None else _number(t["value"])
        sign = ">=" if t["at_least"] else "<="
        unit = f" {t['unit']}" if t["unit"] else ""
        verdict = "met" if t["met"] else "MISSED"
        lines.append(f"  [{verdict}] {t['name']}: {value}{unit} (target {sign} {_number(t['limit'])}{unit})")
    return "\n".join(lines)


def _number(value: float) -> str:
    """Three significant digits, whole numbers from 1000 up written out (not ``1e+03``).

    >>> [_number(v) for v in (0.01025, 1.6345, 1000, 12345.6)]
    ['0.0103', '1.63', '1000', '12346']
    """
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"


Column = tuple[str, str, str]  # (key in the row, header, format spec such as ".2f"; "" for str())


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """A plain-text table; missing values print as ``-``, booleans as ``yes`` and ``no``.

    >>> "yes" in format_table([{"a": True}], [("a", "A", "")])
    True
    """

    def cell(row: Mapping[str, Any], key: str, spec: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return format(value, spec) if spec else str(value)

    body = [[cell(row, key, spec) for key, _, spec in columns] for row in rows]
    headers = [header for _, header, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body),
    ]
    return "\n".join(lines)


def write_results(name: str, data: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write ``<directory>/<name>.json``, pure JSON (``TypeError`` otherwise); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def options(run: Callable[..., Any]) -> dict[str, tuple[Any, str]]:
    """A benchmark's options: the keywords of its ``run()``, with their defaults and ``Annotated`` help."""
    hints = get_type_hints(run, include_extras=True)
    return {
        name: (parameter.default, " ".join(getattr(hints.get(name), "__metadata__", ())))
        for name, parameter in inspect.signature(run).parameters.items()
    }


def _add_option(parser: argparse.ArgumentParser, name: str, default: Any, help: str) -> None:
    """``--name``, typed as its default: a tuple written comma-separated, ``False`` a switch."""
    flag = "--" + name.replace("_", "-")
    if default is False:
        parser.add_argument(flag, action="store_true", help=help)
        return
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    kind: Any = str if default is None else type(default)
    if isinstance(default, tuple):
        item = type(default[0]) if default else str
        kind = lambda text: tuple(item(part) for part in text.split(",") if part.strip())  # noqa: E731
    parser.add_argument(flag, type=kind, default=default, help=f"{help} ({shown})".lstrip())


def execute(
    module: ModuleType,
    *,
    smoke: bool = False,
    options: Mapping[str, Any] | None = None,
    name: str | None = None,
    results_dir: Path = RESULTS_DIR,
) -> dict[str, Any]:
    """Run one benchmark (``smoke()``, or ``run(**options)``); print, write and return its result."""
    found = module.smoke() if smoke else module.run(**(options or {}))
    met = all(t["met"] for t in found.get("targets", []))
    result = {"benchmark": module.NAME, "machine": machine_info(), **found, "targets_met": met}
    print(f"{module.report(result)}\n\nTargets\n{format_targets(result['targets'])}")
    print(f"JSON: {write_results(name or module.NAME + ('_smoke' if smoke else ''), result, results_dir)}")
    return result


def child_command(module: str, function: str, out: Path | None = None, **kwargs: Any) -> list[str]:
    """The command that runs ``module.function(**kwargs)`` in a fresh interpreter; its result to ``out``."""
    command = [sys.executable, "-m", module, "--child", function, "--kwargs", json.dumps(kwargs)]
    return command + (["--out", str(out)] if out else [])


def run_child(
    module: str,
    function: str,
    *,
    env: dict[str, str],
    timeout: float,
    pass_fds: Sequence[int] = (),
    **kwargs: Any,
) -> Any:
    """Run ``module.function(**kwargs)`` in a fresh interpreter (:func:`child_command`); return its result."""
    with tempfile.TemporaryDirectory(prefix="creatify-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = child_command(module, function, out, **kwargs)
        done = subprocess.run(
            command, env=env, pass_fds=pass_fds, stderr=subprocess.PIPE, text=True, timeout=timeout
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"{function} {kwargs} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def main(module: ModuleType, argv: Sequence[str] | None = None) -> int:
    """The command line every benchmark shares: ``python -m benchmarks.<name> [options]``.

    The module declares ``NAME``, ``run()`` (its keywords are the options), ``smoke()``, ``report()`` and
    maybe ``succeeded(result)`` (the exit status). ``--child`` runs a function, for :func:`child_command`.
    """
    description = (module.__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module.NAME}", description=description)
    keywords = options(module.run)
    for name, (default, text) in keywords.items():
        _add_option(parser, name, default, text)
    smoke_doc = (module.smoke.__doc__ or "").splitlines()[0]
    parser.add_argument("--smoke", action="store_true", help=f"the size the tests run: {smoke_doc}")
    parser.add_argument("--name", help=f"results file name ({module.NAME}, or {module.NAME}_smoke)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", type=json.loads, default={}, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        found = getattr(module, args.child)(**args.kwargs)
        if args.out:
            args.out.write_text(json.dumps(found))
        return 0
    chosen = {name: getattr(args, name) for name in keywords}
    print(f"Machine: {format_machine(machine_info())}\n", flush=True)
    result = execute(module, smoke=args.smoke, options=chosen, name=args.name, results_dir=args.results_dir)
    succeeded = getattr(module, "succeeded", None)
    return 0 if succeeded is None or succeeded(result) else 1
