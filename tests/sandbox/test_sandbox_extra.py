"""The sandbox's server dependencies are the ``[sandbox]`` extra: where one is missing, the sandbox, its
pytest fixture and ``creatify-sandbox`` say which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from airflow_provider_creatify.sandbox import CreatifySandbox
from airflow_provider_creatify.sandbox.__main__ import run
from tests.helpers import REPO

EXTRA = "pip install 'airflow-provider-creatify[sandbox]'"


@pytest.mark.parametrize("missing", ["uvicorn", "httpx"])
def test_the_sandbox_says_which_extra_is_missing(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # what an import of a missing package raises
    with pytest.raises(ImportError, match=rf"needs {missing} .*{EXTRA.replace('[', '.').replace(']', '.')}"):
        CreatifySandbox().start()


@pytest.mark.parametrize(
    ("missing", "args"),
    [("uvicorn", ["--port", "0"]), ("cryptography", ["--port", "0", "--self-signed-tls"])],
)
def test_the_cli_says_it_in_one_line(monkeypatch, capsys, missing, args):
    monkeypatch.setitem(sys.modules, missing, None)
    assert run(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"creatify-sandbox: The Creatify sandbox needs {missing} ") and EXTRA in err
    assert "Traceback" not in err


def test_the_pytest_fixture_says_it(tmp_path):
    (tmp_path / "conftest.py").write_text("import sys\nsys.modules['uvicorn'] = None\n")
    (tmp_path / "test_uses_sandbox.py").write_text(
        textwrap.dedent(
            """
            def test_it(creatify_sandbox):
                pass
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1 and EXTRA in result.stdout, result.stdout[-2000:]
