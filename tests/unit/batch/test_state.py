"""The batch's journal and manifest, on local disk: whole files only, replayed in order, read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from airflow_provider_creatify.batch.journal import BatchState
from airflow_provider_creatify.batch.manifest import MANIFEST_NAME, read_manifest, write_manifest


def test_a_flushed_journal_is_what_the_next_try_reads(tmp_path):
    state = BatchState(output_path=f"file://{tmp_path}/run/")
    state.intend("sku-1", "f1", 100.0)
    state.intend("sku-2", "f2", 100.5)
    state.flush()
    state.created("sku-1", "gen-1")
    state.flush()
    state.flush()  # nothing pending: no empty file

    again = BatchState(output_path=f"{tmp_path}/run/")

    assert again.items["sku-1"].generation_id == "gen-1" and again.items["sku-1"].fingerprint == "f1"
    assert again.items["sku-2"].generation_id is None and again.items["sku-2"].intent_at == 100.5
    assert len(list((tmp_path / "run" / "state").iterdir())) == 2


def test_what_was_not_flushed_is_not_known_to_the_next_try(tmp_path):
    state = BatchState(output_path=f"{tmp_path}/run/")
    state.intend("a", "f", 1.0)
    state.flush()
    state.created("a", "gen-a")  # killed before the flush

    assert BatchState(output_path=f"{tmp_path}/run/").items["a"].generation_id is None


def test_the_first_id_of_an_item_stays(tmp_path):
    state = BatchState(output_path=f"{tmp_path}/run/")
    state.created("a", "gen-first")
    state.flush()
    later = BatchState(output_path=f"{tmp_path}/run/")
    later.created("a", "gen-second")
    later.flush()

    assert BatchState(output_path=f"{tmp_path}/run/").items["a"].generation_id == "gen-first"


def test_a_writer_killed_mid_flush_leaves_the_whole_file_or_nothing(tmp_path):
    """A process writing a large segment is SIGKILLed; the journal stays readable, all or nothing."""
    code = (
        "import sys\n"
        "from airflow_provider_creatify.batch.journal import BatchState\n"
        "state = BatchState(output_path=sys.argv[1])\n"
        "for n in range(200_000):\n"
        "    state.intend(f'item-{n}', 'f' * 64, float(n))\n"
        "print('flushing', flush=True)\n"
        "state.flush()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, f"{tmp_path}/run/"], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "flushing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    known = BatchState(output_path=f"{tmp_path}/run/").items
    assert len(known) in (0, 200_000)


def test_the_manifest_is_written_whole_and_read_back_in_order(tmp_path):
    rows = [{"key": f"k{n}", "index": n, "status": "done"} for n in range(3)]

    uri = write_manifest(f"{tmp_path}/out/", rows)

    assert uri.endswith(MANIFEST_NAME)
    assert list(read_manifest(uri)) == rows
    assert list(read_manifest(f"{tmp_path}/out/")) == rows  # the output_path names it too
    assert [p.name for p in (tmp_path / "out").iterdir()] == [MANIFEST_NAME]  # no .part left


def test_a_long_journal_is_compacted_into_one_segment_that_replays_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr("airflow_provider_creatify.batch.journal.COMPACT_AFTER", 3)
    state = BatchState(output_path=f"file://{tmp_path}/")
    for n, (key, event) in enumerate([("a", "done"), ("b", "failed"), ("c", None), ("d", None), ("e", None)]):
        state.intend(key, f"fp-{key}", 1000.0 + n)
        state.flush()
        if key != "d":
            state.created(key, f"g-{key}")
        if event:
            state.finished(key, {"id": f"g-{key}", "status": event}, 1)
        state.flush()
    state.refused("f", "fp-f", "no prompt")
    state.uncertain("d", "the list cannot tell", 2)
    state.flush()
    before = {key: vars(item) for key, item in BatchState(output_path=f"file://{tmp_path}/").items.items()}

    state.compact()
    state.created("e", "g-other")  # a later flush replays after the compacted segment
    state.intend("g", "fp-g", 2000.0)
    state.flush()

    assert len(list((tmp_path / "state").glob("*.jsonl"))) == 2
    after = {key: vars(item) for key, item in BatchState(output_path=f"file://{tmp_path}/").items.items()}
    assert after.pop("g")["fingerprint"] == "fp-g"
    assert after == before  # e keeps its first id


def test_a_writer_killed_between_the_compacted_segment_and_the_deletes_leaves_the_same_state(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("airflow_provider_creatify.batch.journal.COMPACT_AFTER", 1)
    state = BatchState(output_path=f"file://{tmp_path}/")
    state.intend("a", "fp-a", 1.0)
    state.flush()
    state.created("a", "g-a")
    state.flush()
    expected = vars(BatchState(output_path=f"file://{tmp_path}/").items["a"])
    monkeypatch.setattr("airflow.sdk.ObjectStoragePath.unlink", lambda self, *a, **k: None)  # killed before

    state.compact()

    assert len(list((tmp_path / "state").glob("*.jsonl"))) == 3
    assert vars(BatchState(output_path=f"file://{tmp_path}/").items["a"]) == expected
