"""Runtime settings of the Creatify sandbox (plain dataclass, stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FAILED_REASON = "Content moderation: the sandbox was asked to fail this generation."


@dataclass
class SandboxSettings:
    """Behaviour knobs; the running sandbox reads them on every request, so tests may change them mid-run.

    ``generation_seconds`` is captured per generation when it is created (changing it later only
    affects new generations). ``webhook_repeat=0`` simulates a lost webhook.
    """

    api_id: str = "sandbox-api-id"
    api_key: str = "sandbox-api-key"
    generation_seconds: float = 2.0
    fail_marker: str = "[sandbox:fail]"
    fail_rate: float = 0.0
    failed_reason: str = DEFAULT_FAILED_REASON
    webhook_repeat: int = 1
    seed: int | None = None
    initializing_fraction: float = 0.2
    webhook_timeout: float = 5.0
