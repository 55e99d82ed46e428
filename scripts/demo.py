"""Run one example DAG end to end against the embedded Creatify sandbox: no credentials, no network.

Every asset the run produced ends up in a local folder (``--destination``, default ``creatify-assets/``):
the mapped example stores its own there (its assets root, ``CREATIFY_ASSETS_ROOT``; the run's conf picks
the sub-folder: ``--sub-folder``, default ``demo``); for the others the demo copies them with
``CreatifyHook.copy_assets`` (a batch's, from its manifest). The sandbox serves its assets from
127.0.0.1, so the demo turns on ``[creatify] allow_private_hosts``.

Usage: python scripts/demo.py [DAG_ID] [--sync] [--destination FOLDER] [--sub-folder NAME]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dag_id", nargs="?", default="example_creatify_mapped_batch")
    parser.add_argument("--sync", action="store_true", help="wait in the worker instead of deferring")
    parser.add_argument("--destination", type=Path, default=Path("creatify-assets"), help="a local folder")
    parser.add_argument(
        "--sub-folder", default="demo", help="where in it the batch example stores its assets"
    )
    args = parser.parse_args()
    destination = f"file://{args.destination.resolve()}/"

    home = Path(tempfile.mkdtemp(prefix="creatify-demo-airflow-home-"))
    os.environ.update(  # before Airflow is imported: it reads its config once
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLE_DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS="True",  # the sandbox's assets are on 127.0.0.1
        CREATIFY_ASSETS_ROOT=destination,  # the mapped example's assets root: the run picks a sub-folder
        CREATIFY_BATCH_ROOT=f"file://{home}/batch/",  # the batch examples' journals: this run's own
    )

    from airflow_provider_creatify.batch import read_manifest
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings

    with CreatifySandbox(SandboxSettings(generation_seconds=5)) as sandbox:
        os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
        print(f"Creatify sandbox at {sandbox.base_url}; Airflow home {home}")

        from airflow.utils.db import initdb

        from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable

        initdb()
        dag = load_dag_file(EXAMPLE_DAGS / f"{args.dag_id}.py", args.dag_id)
        set_deferrable(dag, not args.sync)
        dagrun = dag.test(run_conf={"destination": args.sub_folder} if "destination" in dag.params else None)

        print(f"\n== DAG run {dagrun.run_id}: {dagrun.state} ({'sync' if args.sync else 'deferrable'})")
        xcoms = dagrun_xcoms(dagrun)
        for (task_id, map_index, key), value in sorted(xcoms.items()):
            index = f"[{map_index}]" if map_index >= 0 else ""
            print(f"  {task_id}{index} {key}: {value}")
        stored = [
            p for (task, _, key), v in xcoms.items() if (task, key) == ("store", "return_value") for p in v
        ]
        if not stored:  # this DAG does not store its assets itself
            urls = [url for (_, _, key), v in xcoms.items() if key == "asset_urls" for url in v]
            manifests = [
                v["manifest_uri"] for v in xcoms.values() if isinstance(v, dict) and "manifest_uri" in v
            ]
            urls += [url for uri in manifests for row in read_manifest(uri) for url in row["asset_urls"]]
            stored = CreatifyHook().copy_assets(urls, destination)
        print(f"\n== {len(stored)} assets stored under {destination}")
        for path in stored:
            local = Path(path.removeprefix("file://"))
            print(f"  {local} ({local.stat().st_size} bytes)")
        posts = sandbox.count("POST", "/api/asset_generator/")
        print(f"  sandbox requests: {len(sandbox.requests)}, POSTs: {posts}")
        raise SystemExit(0 if dagrun.state == "success" else 1)


if __name__ == "__main__":
    main()
