"""The API key never shows: not in logs (even at DEBUG), errors, XCom, rendered fields or the metadata DB."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

SCAN_RUN = Path(__file__).with_name("secret_scan_run.py")


def test_no_secret_anywhere_after_running_every_dag_at_debug(tmp_path, dags_folder):
    api_key = f"ck-{secrets.token_hex(16)}"
    wrong_key = f"wk-{secrets.token_hex(16)}"
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS": "True",  # the batch copies the sandbox's 127.0.0.1 assets
        "CREATIFY_ASSETS_ROOT": f"file://{home}/assets/",  # where the mapped example stores them
        "CREATIFY_BATCH_ROOT": f"file://{home}/batch/",  # the batch examples' journals and manifests
    }
    env.pop("AIRFLOW_CONN_CREATIFY_DEFAULT", None)
    result = subprocess.run(
        [sys.executable, str(SCAN_RUN), api_key, wrong_key],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    runs = json.loads(output.split("RUNS ", 1)[1].splitlines()[0])
    assert [state for name, _, state in runs if name != "wrong key"] == ["success"] * 10
    assert runs[-1][2] == "failed"
    assert "DEBUG" in output.upper() and "CreatifyAuthError" in output  # it did log, and the bad key failed

    # Airflow's own dag.test() plumbing (InProcessSupervisorComms.send) logs, at DEBUG, the very request
    # that registers a secret with the masker: "Sending request msg=MaskSecret(value='<key>')". Airflow
    # sends it when the connection is fetched; a real worker's comms do not log it. Everything else counts.
    lines = [line for line in output.splitlines() if "msg=MaskSecret(value=" not in line]
    for key in (api_key, wrong_key):
        assert not [line for line in lines if key in line]
        for path in Path(home).rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), f"the API key leaked into {path}"
