"""Run every example DAG (and a wrong-key run) at DEBUG against the sandbox, for test_secrets.py.

Usage: python tests/integration/secret_scan_run.py API_KEY WRONG_KEY
(AIRFLOW_HOME etc. come from the environment)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings


def main(api_key: str, wrong_key: str) -> None:
    dags_folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    with CreatifySandbox(SandboxSettings(api_key=api_key, generation_seconds=0.5)) as sandbox:
        from airflow.utils.db import initdb

        from airflow_provider_creatify.testing import load_dag_file, set_deferrable

        initdb()
        runs = []
        for path in sorted(dags_folder.glob("example_*.py")):
            for deferrable in (True, False):
                os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
                dag = load_dag_file(path, path.stem)
                set_deferrable(dag, deferrable)
                runs.append((path.stem, deferrable, str(dag.test().state)))
        conn = json.loads(sandbox.connection_json()) | {"password": wrong_key}
        os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = json.dumps(conn)
        runs.append(
            (
                "wrong key",
                False,
                str(
                    load_dag_file(
                        dags_folder / "example_creatify_text_to_image.py", "example_creatify_text_to_image"
                    )
                    .test()
                    .state
                ),
            )
        )
        print("RUNS " + json.dumps(runs))


if __name__ == "__main__":
    main(*sys.argv[1:3])
