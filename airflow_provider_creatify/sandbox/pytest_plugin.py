"""pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``creatify_sandbox`` fixture.

Kept import-light: uvicorn and the ASGI app are imported only when the fixture is used.
Override ``creatify_sandbox_settings`` in a conftest.py or test module to customise the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    """Settings for ``creatify_sandbox`` (generations finish after 1 second)."""
    from airflow_provider_creatify.sandbox.settings import SandboxSettings

    return SandboxSettings(generation_seconds=1.0)


#: The Airflow setting the sandbox needs: copies refuse its assets' host (127.0.0.1) by default.
ALLOW_PRIVATE_HOSTS_ENV = "AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS"


@pytest.fixture
def creatify_sandbox(
    creatify_sandbox_settings: SandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CreatifySandbox]:
    """A fresh Creatify sandbox on a free loopback port, stopped after the test.

    While it runs, ``[creatify] allow_private_hosts`` is on (``AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS``), so
    that copies of its assets (served from 127.0.0.1) are allowed.
    """
    from airflow_provider_creatify.sandbox.server import CreatifySandbox

    monkeypatch.setenv(ALLOW_PRIVATE_HOSTS_ENV, "True")
    with CreatifySandbox(creatify_sandbox_settings) as sandbox:
        yield sandbox
