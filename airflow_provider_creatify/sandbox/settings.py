"""Runtime settings of the Creatify sandbox (plain dataclass, stdlib only)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

#: How to install what the sandbox's server needs besides the provider.
SANDBOX_EXTRA = "pip install 'airflow-provider-creatify[sandbox]'"
DEFAULT_FAILED_REASON = "Content moderation: the sandbox was asked to fail this generation."


@dataclass
class SandboxSettings:
    """Behaviour knobs; the running sandbox reads them on every request, so tests may change them mid-run.

    How long a generation takes, captured when it is created (changing a setting later only affects new
    generations): ``generation_seconds`` when set (the same for every model, the override tests use),
    else the model's typical time at the real service times ``time_scale``. The default scale, 0.05, keeps
    a demo quick (an image in under half a second, a Kling video in 18 s instead of 6 minutes) while the
    models keep their real order; ``time_scale=1`` is real pacing.

    ``credits`` is the starting balance: ``GET /api/remaining_credits/`` answers it minus what the
    generations cost (a failed one is refunded), and a create the balance cannot pay is refused. Changing
    it mid-run moves the balance by the same amount. The ``initializing`` phase lasts
    ``initializing_fraction`` of a generation. ``webhook_repeat`` is how many times the final notice is
    sent (0 simulates a lost webhook; the notice for ``generating`` is sent once regardless).
    ``create_rate_limit`` (creates per second, ``None`` = no limit) answers the creates above it 429 with
    ``Retry-After``, before anything is validated or charged.

    ``list_omits`` names fields the list endpoint leaves out of each generation (with ``ids`` or not),
    as a real listing may: ``("input_params",)`` plays one that cannot tell what a generation was made from.
    ``list_pages`` makes it answer a Django REST framework page, ``{"count", "next", "previous",
    "results"}``, instead of a bare array. ``list_page_size`` makes it answer pages of that many
    generations (with ``ids`` or not), each with the absolute URL of the ``next``; ``limit`` is then
    ignored, as page-number pagination does. ``list_ignores_ids`` makes it answer the account's newest
    generations whatever ``ids`` asks for. ``schema_page_size`` makes the schemas endpoint answer pages of
    that many models, each with the absolute URL of the ``next``; ``schemas_as_text`` gives each
    ``input_params_schema`` as JSON text.

    ``list_status`` makes the list endpoint (with ``ids`` or not) answer that status instead: 404 plays an
    absent endpoint (``{"detail": "Not found."}``), a 5xx a failing one (502 as a proxy's HTML page). The
    reads of one generation keep working. ``create_answers_id_only`` answers a successful create 201 with
    only ``{"id": ...}``. ``assets_as_strings`` gives a done generation's assets as a list of their URLs
    instead of objects (the same URLs). ``stores_defaults`` keeps, and answers, each generation's
    ``input_params`` with the schema's defaults filled in, as an API that stores its validated input may.
    ``forbidden_reason`` refuses every authenticated create 403 with
    ``{"detail": <reason>}``, as a plan or an account may; nothing is created or charged.
    """

    api_id: str = "sandbox-api-id"
    api_key: str = "sandbox-api-key"
    generation_seconds: float | None = None
    time_scale: float = 0.05
    credits: float = 10_000.0
    fail_marker: str = "[sandbox:fail]"
    fail_rate: float = 0.0
    failed_reason: str = DEFAULT_FAILED_REASON
    webhook_repeat: int = 1
    seed: int | None = None
    initializing_fraction: float = 0.2
    webhook_timeout: float = 5.0
    create_rate_limit: int | None = None
    list_omits: tuple[str, ...] = ()
    list_pages: bool = False
    list_page_size: int | None = None
    list_ignores_ids: bool = False
    schema_page_size: int | None = None
    schemas_as_text: bool = False
    list_status: int | None = None
    create_answers_id_only: bool = False
    assets_as_strings: bool = False
    stores_defaults: bool = False
    forbidden_reason: str | None = None

    def seconds_for(self, typical_seconds: float) -> float:
        """How long a new generation takes: ``generation_seconds`` if set, else ``typical * time_scale``.

        :param typical_seconds: the model's typical time at the real service.
        """
        if self.generation_seconds is not None:
            return max(0.0, self.generation_seconds)
        return max(0.0, typical_seconds * self.time_scale)


def sandbox_import(module: str, why: str) -> ModuleType:
    """Import one of the sandbox's own dependencies (the ``[sandbox]`` extra), or say how to install it.

    :param why: what the sandbox needs it for, for the message.
    :raises ImportError: naming the module and the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"The Creatify sandbox needs {module} ({why}), which is not installed: {SANDBOX_EXTRA}"
        ) from exc
