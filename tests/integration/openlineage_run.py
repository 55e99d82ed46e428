"""Run one example DAG with dag.test() in a fresh process, for test_openlineage.py.

Usage: python tests/integration/openlineage_run.py DAG_ID deferrable|sync [--without-openlineage]
[--conf JSON]
The environment carries AIRFLOW_HOME, the Creatify connection and the OpenLineage transport. A process of
its own: OpenLineage reads its configuration once per process, and ``--without-openlineage`` keeps its
client from being imported at all (where the provider is not installed, ``scripts/demo.sh``'s venv, nothing
imports it either).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(dag_id: str, mode: str, *flags: str) -> None:
    conf = json.loads(flags[flags.index("--conf") + 1]) if "--conf" in flags else None
    if "--without-openlineage" in flags:  # the OpenLineage client cannot be imported: its plugin fails
        sys.modules["openlineage"] = None  # type: ignore[assignment]  # (an import error Airflow logs)
    from airflow_provider_creatify.testing import load_dag_file, set_deferrable

    dag = load_dag_file(Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py", dag_id)
    set_deferrable(dag, mode == "deferrable")
    print(f"RUN {dag.test(run_conf=conf).state}")


if __name__ == "__main__":
    main(*sys.argv[1:])
