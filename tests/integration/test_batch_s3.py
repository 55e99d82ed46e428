"""The batch and asset copies on a real S3 API: a moto server process, ``s3://`` through Airflow's Amazon
provider, against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from airflow_provider_creatify.batch import MANIFEST_NAME, read_manifest
from airflow_provider_creatify.batch.journal import STATE_FOLDER, BatchState
from airflow_provider_creatify.storage import asset_file_name, copy_assets
from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable
from tests.helpers import FLUX, POST_PATH, finished_generation

pytest.importorskip("moto.server", reason="moto[server] is not installed")
pytest.importorskip("s3fs", reason="the Amazon provider's s3fs extra is not installed")
pytest.importorskip("airflow.providers.amazon", reason="the Amazon provider is not installed")

DAG_FILE_NAME = "creatify_batch.py"  # from tests/integration/dags/, in the dags folder
#: Records of each segment the killed writer flushes: a few MB, so that a flush takes a while.
RECORDS_PER_SEGMENT = 20_000
#: The killed writer: flushes segments of RECORDS_PER_SEGMENT intents, saying when each starts and ends.
WRITER = """\
import sys
from airflow_provider_creatify.batch.journal import BatchState
state = BatchState(output_path=sys.argv[1])
for segment in range(1000):
    for n in range(int(sys.argv[2])):
        state.intend(f"s{segment:04d}-{n}", "f" * 64, float(n))
    print(f"flushing {segment}", flush=True)
    state.flush()
    print(f"flushed {segment}", flush=True)
"""
#: Another process adds a generation id to the journal: ``ADD_ID <output_path> <key> <generation id>``.
ADD_ID = """\
import sys
from airflow_provider_creatify.batch.journal import BatchState
state = BatchState(output_path=sys.argv[1])
state.created(sys.argv[2], sys.argv[3])
state.flush()
"""


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in-the-worker"])
def test_a_batch_on_s3_creates_each_item_once_and_leaves_its_manifest_and_journal_in_the_bucket(
    airflow_db, dags_folder, creatify_conn, s3_bucket, deferrable
):
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch")
    set_deferrable(dag, deferrable)
    output_path = s3_bucket.url("creatify/")

    dagrun = dag.test(run_conf={"output_path": output_path})

    assert dagrun.state == "success"
    assert creatify_conn.count("POST", POST_PATH) == 12
    result = dagrun_xcoms(dagrun)[("catalogue", -1, "return_value")]
    assert result["manifest_uri"] == f"{output_path}{MANIFEST_NAME}"
    assert result["counts"]["done"] == 11 and result["counts"]["failed"] == 1
    keys = s3_bucket.keys("creatify/")
    segments = [key for key in keys if key.startswith(f"creatify/{STATE_FOLDER}/")]
    assert keys == [f"creatify/{MANIFEST_NAME}", *segments]  # no .part left anywhere
    assert segments and all(key.endswith(".jsonl") for key in segments)
    rows = list(read_manifest(output_path))
    assert rows == [json.loads(line) for line in s3_bucket.read(f"creatify/{MANIFEST_NAME}").splitlines()]
    assert [row["index"] for row in rows] == list(range(12))
    assert {row["generation_id"] for row in rows} == set(creatify_conn.generations)
    journaled = {
        record["generation_id"]
        for key in segments
        for record in map(json.loads, s3_bucket.read(key).splitlines())
        if record["event"] == "created"
    }
    assert journaled == set(creatify_conn.generations)

    again = dag.test(run_conf={"output_path": output_path})  # a new run on the same output_path

    assert again.state == "success"
    assert creatify_conn.count("POST", POST_PATH) == 12  # re-attached from the journal on S3
    assert list(read_manifest(output_path)) == rows


@pytest.mark.parametrize(
    ("name", "body"),
    [
        (
            "prompts.jsonl",
            b'{"key": "mug", "input_params": {"prompt": "a mug"}}\n\n'
            b'{"key": "lamp", "input_params": {"prompt": "a lamp"}}\n'
            b'{"key": "vase", "input_params": {"prompt": "a vase"}}\n',
        ),
        ("prompts.csv", b'key,prompt\nmug,a mug\nlamp,a lamp\nvase,"a vase, blue"\n'),
    ],
    ids=["jsonl", "csv"],
)
def test_a_batch_reads_its_items_from_s3(airflow_db, dags_folder, creatify_conn, s3_bucket, name, body):
    s3_bucket.put(f"input/{name}", body)
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch_from_file")
    output_path = s3_bucket.url("out/")

    dagrun = dag.test(run_conf={"output_path": output_path, "items_path": s3_bucket.url(f"input/{name}")})

    assert dagrun.state == "success"
    assert creatify_conn.count("POST", POST_PATH) == 3
    rows = list(read_manifest(output_path))
    assert [(row["key"], row["status"]) for row in rows] == [(k, "done") for k in ("mug", "lamp", "vase")]
    prompts = {generation["input_params"]["prompt"] for generation in creatify_conn.generations.values()}
    assert prompts == {"a mug", "a lamp", "a vase" if name.endswith("jsonl") else "a vase, blue"}


# Halfway through a flush the .part is still being uploaded (nothing is left); at nine tenths it is
# mostly stored and being copied to its name (s3fs renames by copy, then delete): a real .part stays.
@pytest.mark.parametrize("kill_at", [0.5, 0.9], ids=["during-the-upload", "at-the-rename"])
def test_a_writer_killed_mid_flush_on_s3_leaves_only_whole_segments(s3_bucket, kill_at):
    """The writer is SIGKILLed within a flush; the next try replays whole segments, a .part ignored."""
    output_path = s3_bucket.url("killed/")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, output_path, str(RECORDS_PER_SEGMENT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        took = []
        for segment in range(3):  # three whole flushes, timed
            assert said(writer) == f"flushing {segment}"
            started = time.monotonic()
            assert said(writer) == f"flushed {segment}"
            took.append(time.monotonic() - started)
        assert said(writer) == "flushing 3"
        time.sleep(min(took) * kill_at)  # within the fourth flush
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    s3_bucket.put(f"killed/{STATE_FOLDER}/.00000005-0badf00d.jsonl.0123456789ab.part", b'{"event": "int')

    state = BatchState(output_path=output_path)

    segments = [key for key in s3_bucket.keys(f"killed/{STATE_FOLDER}/") if key.endswith(".jsonl")]
    assert len(segments) in (3, 4)  # the fourth whole, or not there at all
    for key in segments:
        assert len(s3_bucket.read(key).splitlines()) == RECORDS_PER_SEGMENT
    seen = {key.partition("-")[0] for key in state.items}
    assert seen == {f"s{segment:04d}" for segment in range(len(segments))}
    assert len(state.items) == RECORDS_PER_SEGMENT * len(segments)


def said(writer: subprocess.Popen[str]) -> str:
    """The writer's next ``flushing N`` or ``flushed N``, past the log lines Airflow prints."""
    assert writer.stdout is not None
    while line := writer.stdout.readline():
        if line.startswith("flush"):
            return line.strip()
    return ""


def test_a_journal_read_again_sees_what_another_process_flushed_since(s3_bucket):
    """A triggerer reads the journal of each deferral anew: no listing kept from its earlier reads."""
    output_path = s3_bucket.url("shared/")
    first = BatchState(output_path=output_path)
    first.intend("sku-1", "f1", 1.0)
    first.flush()
    assert BatchState(output_path=output_path).items["sku-1"].generation_id is None  # listed here once

    subprocess.run([sys.executable, "-c", ADD_ID, output_path, "sku-1", "gen-1"], check=True)

    assert BatchState(output_path=output_path).items["sku-1"].generation_id == "gen-1"


def test_a_compacted_journal_on_s3_is_one_segment_that_replays_the_same(s3_bucket, monkeypatch):
    """Compaction writes its segment whole, then deletes the others: the bucket holds one, read the same."""
    monkeypatch.setattr("airflow_provider_creatify.batch.journal.COMPACT_AFTER", 2)
    output_path = s3_bucket.url("compact/")
    state = BatchState(output_path=output_path)
    for n in range(3):
        state.intend(f"sku-{n}", f"f{n}", float(n))
        state.flush()
        state.created(f"sku-{n}", f"gen-{n}")
        state.flush()
    before = {key: vars(item) for key, item in BatchState(output_path=output_path).items.items()}

    state.compact()

    assert len([key for key in s3_bucket.keys("compact/state/") if key.endswith(".jsonl")]) == 1
    assert {key: vars(item) for key, item in BatchState(output_path=output_path).items.items()} == before


def test_asset_copies_land_whole_in_the_bucket(creatify_conn, s3_bucket):
    """copy_assets (the copy operator's path) streams a generation's assets into S3, byte for byte."""
    urls = finished_generation(FLUX, {"prompt": "a mug", "num_images": 2}).asset_urls
    assert len(urls) == 2
    destination = s3_bucket.url("assets/")

    stored = copy_assets(urls, destination, allow_private_hosts=True)

    assert stored == [f"{destination}{asset_file_name(url)}" for url in urls]
    assert s3_bucket.keys("assets/") == sorted(f"assets/{asset_file_name(url)}" for url in urls)  # no .part
    for url in urls:
        served = requests.get(url, timeout=10).content
        assert served and s3_bucket.read(f"assets/{asset_file_name(url)}") == served
    assert copy_assets(urls, destination, allow_private_hosts=True) == stored  # a retry skips them
