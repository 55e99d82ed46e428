"""End to end: every example DAG through dag.test() against the sandbox over real HTTP.

dag.test() runs deferred triggers inline, so the deferrable runs go through the real trigger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable
from tests.helpers import EXAMPLE_DAGS, FLUX, POST_PATH

DAG_FILES = sorted(p.stem for p in EXAMPLE_DAGS.glob("example_*.py"))


def run(dags_folder: Path, name: str, deferrable: bool, capfd, **run_conf):
    dag = load_dag_file(dags_folder / f"{name}.py", name)
    set_deferrable(dag, deferrable)
    dagrun = dag.test(run_conf=run_conf or None)
    states = {ti.task_id + f"[{ti.map_index}]": ti.state for ti in dagrun.get_task_instances()}
    assert dagrun.state == "success", states
    # The deferrable runs really went through the trigger (dag.test runs it inline), the others did not.
    assert ("Deferring the wait on Creatify" in capfd.readouterr().out) is deferrable
    return dagrun, dagrun_xcoms(dagrun)


def assert_contract(values, task_id: str, base_url: str, map_index: int = -1) -> list[str]:
    urls = values[(task_id, map_index, "return_value")]
    assert urls and all(url.startswith(base_url) for url in urls)
    assert values[(task_id, map_index, "asset_urls")] == urls
    assert [a["url"] for a in values[(task_id, map_index, "assets")]] == urls
    assert isinstance(values[(task_id, map_index, "generation_id")], str)
    return urls


def test_every_example_is_covered():
    assert set(DAG_FILES) == {
        "example_creatify_text_to_image",
        "example_creatify_kling_image_to_video",
        "example_creatify_image_to_video",
        "example_creatify_mapped_batch",
        "example_creatify_batch",
    }


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_text_to_image(airflow_db, dags_folder, creatify_conn, capfd, deferrable):
    _, values = run(dags_folder, "example_creatify_text_to_image", deferrable, capfd)
    urls = assert_contract(values, "generate_image", creatify_conn.base_url)
    assert values[("report", -1, "return_value")] == len(urls)
    assert creatify_conn.count("POST", POST_PATH) == 1
    generation = creatify_conn.generations[values[("generate_image", -1, "generation_id")]]
    assert "run" in generation["input_params"]["prompt"] and "{{" not in generation["input_params"]["prompt"]


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_kling_create_then_sensor(airflow_db, dags_folder, creatify_conn, capfd, deferrable):
    # Long enough that the sensor, started seconds after the create task, still finds it running.
    creatify_conn.settings.generation_seconds = 6
    _, values = run(dags_folder, "example_creatify_kling_image_to_video", deferrable, capfd)
    generation_id = values[("create_video", -1, "return_value")]
    assert values[("create_video", -1, "generation_id")] == generation_id
    urls = values[("wait_for_video", -1, "return_value")]
    assert urls == values[("wait_for_video", -1, "asset_urls")]
    assert urls == [a["url"] for a in creatify_conn.generations[generation_id]["assets"]]
    assert creatify_conn.count("POST", POST_PATH) == 1


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_image_feeds_image_to_video(airflow_db, dags_folder, creatify_conn, capfd, deferrable):
    _, values = run(dags_folder, "example_creatify_image_to_video", deferrable, capfd)
    still = assert_contract(values, "generate_still", creatify_conn.base_url)
    assert_contract(values, "animate_still", creatify_conn.base_url)
    video = creatify_conn.generations[values[("animate_still", -1, "generation_id")]]
    assert video["input_params"]["image_url"] == still[0]
    assert creatify_conn.count("POST", POST_PATH) == 2


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_mapped_batch_stores_every_asset_links_it_and_updates_the_asset(
    airflow_db, dags_folder, creatify_conn, capfd, tmp_path, deferrable, monkeypatch
):
    monkeypatch.setenv("CREATIFY_ASSETS_ROOT", f"file://{tmp_path}/")  # read when the DAG file is parsed
    destination = f"file://{tmp_path}/assets/"
    dagrun, values = run(
        dags_folder, "example_creatify_mapped_batch", deferrable, capfd, destination="assets"
    )
    per_generation = [assert_contract(values, "generate", creatify_conn.base_url, i) for i in range(3)]
    assert creatify_conn.count("POST", POST_PATH) == 3
    prompts = sorted(g["input_params"]["prompt"] for g in creatify_conn.generations.values())
    assert len(set(prompts)) == 3

    # every asset stored under <destination><ds>/, byte for byte, in the URLs' order
    stored = [values[("store", i, "return_value")] for i in range(3)]
    assert values[("summarize", -1, "return_value")] == [path for paths in stored for path in paths]
    for urls, paths in zip(per_generation, stored, strict=True):
        assert len(paths) == len(urls)
        for url, path in zip(urls, paths, strict=True):
            assert path.startswith(f"{destination}{dagrun.logical_date or dagrun.run_after:%Y-%m-%d}/")
            assert Path(path.removeprefix("file://")).read_bytes() == requests.get(url, timeout=10).content

    # the extra link opens each generation's first asset
    for i, urls in enumerate(per_generation):
        assert values[("generate", i, "_link_CreatifyAssetLink")] == urls[0]

    # one asset event per generation, its extra carrying what a downstream DAG needs
    extras = asset_event_extras("creatify://batch/images")
    assert sorted(e["generation_id"] for e in extras) == sorted(
        values[("generate", i, "generation_id")] for i in range(3)
    )
    assert sorted(url for e in extras for url in e["asset_urls"]) == sorted(
        url for urls in per_generation for url in urls
    )
    assert {e["model_name"] for e in extras} == {FLUX}


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_batch_creates_the_catalogue_in_one_task_and_publishes_from_its_manifest(
    airflow_db, dags_folder, creatify_conn, capfd, tmp_path, deferrable, monkeypatch
):
    monkeypatch.setenv("CREATIFY_BATCH_ROOT", f"file://{tmp_path}/")  # read when the DAG file is parsed
    dag = load_dag_file(dags_folder / "example_creatify_batch.py", "example_creatify_batch")
    set_deferrable(dag, deferrable)

    dagrun = dag.test()

    assert dagrun.state == "success"
    values = dagrun_xcoms(dagrun)
    summary = values[("catalogue", -1, "return_value")]
    assert summary["total"] == summary["counts"]["done"] == 6
    assert values[("publish", -1, "return_value")] == 6
    assert creatify_conn.count("POST", POST_PATH) == 6
    assert summary["manifest_uri"].startswith(f"file://{tmp_path}/")
    assert ("Waiting on 6 running Creatify generations" in capfd.readouterr().out) is deferrable


def test_batch_shards_map_one_batch_task_over_each_file(
    airflow_db, dags_folder, creatify_conn, tmp_path, monkeypatch
):
    monkeypatch.setenv("CREATIFY_BATCH_ROOT", f"file://{tmp_path}/")
    dag = load_dag_file(dags_folder / "example_creatify_batch.py", "example_creatify_batch_shards")

    dagrun = dag.test(run_conf={"shard_size": 5})

    assert dagrun.state == "success"
    values = dagrun_xcoms(dagrun)
    totals = [values[("catalogue_shard", i, "return_value")]["total"] for i in range(3)]
    assert totals == [5, 5, 2]
    assert creatify_conn.count("POST", POST_PATH) == 12
    assert len({values[("catalogue_shard", i, "return_value")]["manifest_uri"] for i in range(3)}) == 3


def asset_event_extras(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
        )
        extras = [dict(event.extra) for event in events]
        session.execute(AssetEvent.__table__.delete())  # the next test starts from none
    return extras


def test_examples_import_without_a_connection(airflow_db, monkeypatch):
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,unused-ignore]  # same class, older home

    monkeypatch.delenv("AIRFLOW_CONN_CREATIFY_DEFAULT", raising=False)
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {*DAG_FILES, "example_creatify_on_new_images", "example_creatify_batch_shards"}


def test_dag_folder_holds_the_examples(dags_folder):
    from airflow.configuration import conf

    assert Path(conf.get("core", "dags_folder")) == dags_folder
    assert {p.name for p in EXAMPLE_DAGS.glob("*.py")} <= {p.name for p in dags_folder.glob("*.py")}
