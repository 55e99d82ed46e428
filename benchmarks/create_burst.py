"""Creates at burst: C mapped creates against a sandbox that answers 429 above N creates a second.

Method and figures: docs/performance.md, "Creates at a rate limit".
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

from benchmarks.common import format_table, main, target
from devtools.sandbox_process import SandboxProcess, child_env

NAME = "create_burst"
MODEL = "flux-pro/kontext/text-to-image"
#: What a worker has imported before its first task (each task still builds its own hook).
WARM_MODULES = [
    "airflow_provider_creatify.hooks.creatify",
    "airflow_provider_creatify.submission",
    "requests",
    "jsonschema",
]


def _task(index: int) -> dict[str, Any]:
    """One mapped task's create path, in its own process; what came of it."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.submission import Submission

    started = time.time()
    try:
        hook = CreatifyHook()  # each task builds its own
        submission = Submission(
            hook=hook,
            model_name=MODEL,
            input_params={"prompt": f"burst {index}"},
            webhook_url=None,
            timeout=3600.0,
            task_id="create",
            log=hook.log,
        )
        # what Submission reads of a task instance: the first try, no other map index's XCom known
        ti: Any = SimpleNamespace(try_number=1, xcom_pull=lambda **kwargs: None)
        generation, _deadline = submission.run(None, ti, None)
    except Exception as exc:  # a failed task: reported, never raised
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "started": started}
    return {"ok": True, "id": generation.id, "started": started, "created": time.time()}


def _forked(index: int) -> dict[str, Any]:
    """Run :func:`_task` in a child forked from this worker, its output discarded; the result via a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the task process
        os.close(read_end)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(_task(index)))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    return json.loads(text) if text else {"ok": False, "error": "the task process died"}


def _worker(tasks: Any, results: Any) -> None:
    """A worker process: one forked task process per index until ``None``."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    _ = CreatifyHook().credentials  # Airflow's connection lookup loaded, as in a worker that ran tasks
    results.put("ready")
    while (index := tasks.get()) is not None:
        results.put(_forked(index))


def _burst(creates: int, workers: int) -> list[dict[str, Any]]:
    # warm, as a Celery worker's children are forked from a parent that imported everything: the
    # workers are forked from a server that imported Airflow, the provider, requests and jsonschema once
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WARM_MODULES)
    tasks, results = context.Queue(), context.Queue()
    processes = [context.Process(target=_worker, args=(tasks, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            if results.get(timeout=300) != "ready":
                raise RuntimeError("a worker answered before it was ready")
        for index in range(creates):
            tasks.put(index)
        for _ in processes:
            tasks.put(None)
        return [results.get(timeout=600) for _ in range(creates)]
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.terminate()


def run(
    creates: Annotated[int, "mapped creates C"] = 1000,
    rate: Annotated[int, "the sandbox's creates per second N"] = 5,
    workers: Annotated[int, "worker processes K"] = 16,
) -> dict[str, Any]:
    """Run C creates from K workers against a sandbox limited to N creates a second."""
    counts_file = Path(tempfile.mkdtemp(prefix="creatify-burst-")) / "counts.json"
    extra = ["--create-rate-limit", str(rate), "--counts-file", str(counts_file)]
    with SandboxProcess(generation_seconds=1.0, extra_args=extra) as sandbox:
        os.environ.update(child_env(**sandbox.client_env()))  # the workers inherit the connection
        before = sandbox.counts_now(counts_file)
        tasks = _burst(creates, workers)
        after = sandbox.counts_now(counts_file)
    done = [t for t in tasks if t["ok"]]
    failed = [t for t in tasks if not t["ok"]]
    throttled = after["create_throttled"] - before["create_throttled"]
    billed = after["generations"] - before["generations"]
    billed_per_task = billed / len(done) if done else None
    minimum = max(0, creates - rate)
    ratio = throttled / minimum if minimum else None
    wall = max(t["created"] for t in done) - min(t["started"] for t in tasks) if done else None
    per_task = [t["created"] - t["started"] for t in done]
    return {
        "creates": creates,
        "rate": rate,
        "workers": workers,
        "succeeded": len(done),
        "failed": len(failed),
        "errors": sorted({t["error"] for t in failed})[:5],
        "distinct_ids": len({t["id"] for t in done}),
        "billed": billed,
        "billed_per_task": billed_per_task,
        "create_posts": after["post_create"] - before["post_create"],
        "throttled": throttled,
        "min_throttled": minimum,
        "ratio": ratio,
        "wall_s": wall,
        "ideal_s": (creates - 1) // rate,
        "achieved_rate": len(done) / wall if wall else None,
        "task_s_median": statistics.median(per_task) if per_task else None,
        "task_s_max": max(per_task) if per_task else None,
        "targets": [
            target("tasks succeeded", len(done), creates, at_least=True),
            target("billed creates per succeeded task", billed_per_task, 1.0),
            target("429s / their minimum", ratio, 2.0, unit="x"),
        ],
    }


def smoke() -> dict[str, Any]:
    """40 creates from 8 workers at 5 creates a second (7 s at best)."""
    return run(creates=40, rate=5, workers=8)


#: The report's lines: what, and the result's figures in a format.
REPORT_ROWS = (
    ("tasks succeeded / failed", "{succeeded} / {failed}"),
    ("billed creates (generations) / distinct ids", "{billed} / {distinct_ids}"),
    ("billed creates per succeeded task", "{billed_per_task:.3f}"),
    ("create POSTs / answered 429", "{create_posts} / {throttled}"),
    ("429s: minimum C - N / ratio", "{min_throttled} / {ratio:.2f}x"),
    ("wall time / ideal floor((C-1)/N)", "{wall_s:.1f} s / {ideal_s} s"),
    ("creates per second achieved", "{achieved_rate:.1f}"),
    ("task time median / max", "{task_s_median:.1f} / {task_s_max:.1f} s"),
)


def _fill(text: str, result: dict[str, Any]) -> str:
    try:
        return text.format_map(result)
    except TypeError:  # a figure is None: no task succeeded
        return "-"


def report(result: dict[str, Any]) -> str:
    """The run as a table, and the errors of failed tasks."""
    rows = [{"what": what, "value": _fill(text, result)} for what, text in REPORT_ROWS]
    lines = [
        f"Creates at burst: C = {result['creates']} mapped creates, K = {result['workers']} workers (a "
        f"process forked per task), sandbox limit N = {result['rate']} creates/s",
        "",
        format_table(rows, [("what", "", ""), ("value", "", "")]),
    ]
    if result["errors"]:
        lines += ["", "Errors of failed tasks:", *(f"  {e}" for e in result["errors"])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
