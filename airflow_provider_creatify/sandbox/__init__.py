"""An emulation of Creatify's Asset Generator API over real loopback HTTP, for tests and local runs.

Needs no Airflow: only the standard library, uvicorn, jsonschema, httpx (for webhooks) and cryptography
(for the CLI's ``--self-signed-tls``).

    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings, FaultRule

    with CreatifySandbox(SandboxSettings(generation_seconds=1.0)) as sandbox:
        ...  # point the client at sandbox.base_url with sandbox.api_id / sandbox.api_key

Endpoints: the schema list, create, one generation, many generations (``?ids=``), remaining credits, and
the asset files under ``/media/``. Where Creatify documents no shape the sandbox guesses; ``app.py`` lists
its guesses.
"""

from __future__ import annotations

from airflow_provider_creatify.sandbox.faults import FaultRule, RequestRecord
from airflow_provider_creatify.sandbox.server import CreatifySandbox
from airflow_provider_creatify.sandbox.settings import SandboxSettings

__all__ = ["CreatifySandbox", "FaultRule", "RequestRecord", "SandboxSettings"]
