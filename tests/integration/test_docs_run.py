"""The docs' run instructions work as written: the README's first-DAG block and testing.md's pytest project.

Each runs in a fresh process with no Airflow setting of this test session, in a temporary home folder, as
a newcomer would type it (only the package itself is already installed, in this venv).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FENCED = r"```\w*\n(?P<body>.*?)\n```"


def marked_blocks(page: Path, marker: str) -> list[tuple[str, str]]:
    """``(label, body)`` of each fenced block right after ``<!-- marker: label -->`` in ``page``."""
    pattern = re.compile(rf"<!-- {marker}: (?P<label>[^>]+?) -->\n{FENCED}", re.DOTALL)
    return [(m["label"], m["body"]) for m in pattern.finditer(page.read_text())]


def newcomer_env(home: Path) -> dict[str, str]:
    """This environment without any Airflow or Creatify setting, with ``home`` as HOME and the venv first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREATIFY"))}
    return env | {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_readme_first_dag_block_runs_as_written(tmp_path):
    blocks = marked_blocks(ROOT / "README.md", "run-block")
    assert [label for label, _ in blocks] == ["first terminal", "second terminal", "first terminal"]
    port = str(free_port())  # the README's 8765, unless this machine is already using it
    first = "\n".join(
        line.replace("8765", port)
        for label, body in blocks
        if label == "first terminal"
        for line in body.splitlines()
        if not line.startswith("pip install")  # the package is installed here already
    )
    (sandbox_command,) = [body.replace("8765", port) for label, body in blocks if label == "second terminal"]
    env = newcomer_env(tmp_path)
    sandbox = subprocess.Popen(
        ["bash", "-c", f"exec {sandbox_command}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert sandbox.stdout is not None
        assert "listening on" in sandbox.stdout.readline()
        done = subprocess.run(
            ["bash", "-ec", first], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(timeout=30)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "state=success" in out
    assert re.search(rf"asset: http://127\.0\.0\.1:{port}/media/\S+\.png", out), out[-3000:]


def test_the_testing_page_pytest_project_runs_as_written(tmp_path):
    files = marked_blocks(ROOT / "docs" / "testing.md", "project-file")
    names = ["dags/my_dag.py", "tests/conftest.py", "tests/test_my_dag.py"]
    assert sorted(name for name, _ in files) == names
    project = tmp_path / "project"
    for name, body in files:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=newcomer_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "1 passed" in done.stdout
