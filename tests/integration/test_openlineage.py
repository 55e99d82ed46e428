"""OpenLineage: example DAGs run with Airflow's OpenLineage provider and a file transport, events read back.

Each run is a process of its own (``openlineage_run.py``): OpenLineage reads its configuration once per
process. The generation's URL inputs, its assets and the ``creatify_generation`` run facet; a copy's
stored files; and a run where OpenLineage cannot be imported at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is in the test extra"
)

RUN = Path(__file__).with_name("openlineage_run.py")


def run_dag(events: Path, dag_id: str, mode: str, *flags: str, **env: str) -> str:
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    done = subprocess.run(
        [sys.executable, str(RUN), dag_id, mode, *flags],
        env={
            **os.environ,
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "creatify-tests",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "RUN success" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def completed(events: Path) -> dict[str, list[dict[str, Any]]]:
    """The COMPLETE events of tasks, by task id (several for a mapped task)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        task_id = event["job"]["name"].partition(".")[2]
        if event["eventType"] == "COMPLETE" and task_id:
            found.setdefault(task_id, []).append(event)
    return found


def datasets(event: dict[str, Any], side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event[side]]


def test_a_generation_reads_its_url_inputs_and_makes_its_assets(airflow_db, creatify_conn, tmp_path):
    events = tmp_path / "events.jsonl"
    run_dag(events, "example_creatify_image_to_video", "deferrable")
    tasks = completed(events)
    (still,), (animate,) = tasks["generate_still"], tasks["animate_still"]
    namespace = creatify_conn.base_url  # http://127.0.0.1:<port>: the sandbox serves the assets
    (image,) = datasets(still, "outputs")
    assert image[0] == namespace and image[1].startswith("/media/")
    assert image in datasets(animate, "inputs")  # the still, given as image_url: the graph connects
    (video,) = datasets(animate, "outputs")
    assert video[0] == namespace and video[1].endswith(".mp4")
    facet = animate["run"]["facets"]["creatify_generation"]
    generation = creatify_conn.generations[facet["generationId"]]
    assert facet["modelName"] == generation["model_name"] and facet["status"] == "done"
    assert facet["creditsUsed"] == float(generation["credits_used"]) > 0 and facet["assetCount"] == 1


def test_a_copy_reads_the_asset_urls_and_writes_its_files(airflow_db, creatify_conn, tmp_path):
    events = tmp_path / "events.jsonl"
    run_dag(
        events,
        "example_creatify_mapped_batch",
        "sync",
        "--conf",
        json.dumps({"destination": "lineage"}),  # a sub-folder of the DAG's assets root, set here:
        CREATIFY_ASSETS_ROOT=tmp_path.as_uri() + "/",
    )
    stores, generates = completed(events)["store"], completed(events)["generate"]
    assert len(stores) == len(generates) == 3
    made = {d for event in generates for d in datasets(event, "outputs")}
    read = {d for event in stores for d in datasets(event, "inputs")}
    assert read == made and len(made) == 3
    stored = [d for event in stores for d in datasets(event, "outputs")]
    assert len(stored) == 3
    for namespace, name in stored:
        assert namespace == "file" and (Path("/") / name).is_file()
        assert str(Path("/") / name).startswith(str(tmp_path))


def test_without_openlineage_nothing_changes(airflow_db, creatify_conn, tmp_path):
    events = tmp_path / "events.jsonl"
    run_dag(events, "example_creatify_text_to_image", "deferrable", "--without-openlineage")
    assert not events.exists()
