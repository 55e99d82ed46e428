"""``SandboxState``: what a running sandbox holds in memory, and what a test reads or pins of it.

The generations sit behind one lock: the server thread writes while the test thread reads. Credits are
kept by ``credits.py``, webhook notices sent by ``webhooks.py``. ``CreatifySandbox`` hands this object's
methods to tests (``generations``, ``remaining_credits``, ``force_status``, ``reset``, ...); the app
answers the API from it.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from airflow_provider_creatify.sandbox.credits import CreditLedger
from airflow_provider_creatify.sandbox.generation import SandboxGeneration
from airflow_provider_creatify.sandbox.settings import SandboxSettings
from airflow_provider_creatify.sandbox.webhooks import Delivery, WebhookNotifier


class SandboxState:
    """The generations, the credit ledger and the webhook notifier of one running sandbox (thread-safe).

    :param settings: the live settings (assign a new object to ``settings`` to change them).
    :param base_url: the sandbox's address, for the asset URLs of the generation objects.
    """

    def __init__(self, *, settings: SandboxSettings, base_url: str) -> None:
        self.settings = settings
        self.base_url = base_url
        self.lock = threading.Lock()
        self.generations: dict[str, SandboxGeneration] = {}
        self.ledger = CreditLedger()
        self.notifier = WebhookNotifier(self._read_for_webhook, lambda: self.settings)

    # ------------------------------------------------------------- the API's
    def add(self, generation: SandboxGeneration) -> None:
        """Keep a new (already charged) generation; one that is to fail is watched for its refund, one
        with a ``webhook_url`` is followed by the notifier."""
        if generation.fails:
            self.ledger.watch(generation)
        with self.lock:
            self.generations[generation.id] = generation
        if generation.webhook_url is not None:
            self.notifier.follow(generation.id, generation.webhook_url)

    def read(self, ids: list[str]) -> list[dict[str, Any]]:
        """The generation objects of ``ids``, in that order; unknown ids absent, duplicates once."""
        now = time.monotonic()
        with self.lock:
            found = [self.generations.get(gen_id) for gen_id in dict.fromkeys(ids)]
            return [self.as_api(g, now) for g in found if g is not None]

    def newest(self, limit: int | None) -> list[dict[str, Any]]:
        """The generation objects of the newest ``limit`` generations (``None``: all), newest first."""
        now = time.monotonic()
        with self.lock:
            newest = itertools.islice(reversed(self.generations.values()), limit)
            return [self.as_api(g, now) for g in newest]

    # ------------------------------------------------------- the tests' too
    def generation(self, gen_id: str) -> dict[str, Any] | None:
        """A snapshot of one generation, or None."""
        with self.lock:
            generation = self.generations.get(gen_id)
            return self.as_api(generation, time.monotonic()) if generation else None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Snapshots of every generation."""
        now = time.monotonic()
        with self.lock:
            return {k: self.as_api(g, now) for k, g in self.generations.items()}

    def remaining_credits(self) -> float:
        """The balance: the starting ``credits`` minus what the generations cost (failed ones refunded)."""
        remaining = self.ledger.remaining(starting=self.settings.credits, now_mono=time.monotonic())
        return float(round(remaining, 6))

    def force_status(self, gen_id: str, status: str, failed_reason: str | None = None) -> None:
        """Pin a generation to ``status`` (thread-safe); ``failed`` refunds it, a final status notifies."""
        with self.lock:
            generation = self.generations.get(gen_id)
            if generation is None:
                raise KeyError(gen_id)
            generation.forced_status = status
            generation.forced_reason = (
                (failed_reason or self.settings.failed_reason) if status == "failed" else ""
            )
            generation.forced_wall = time.time()
        if status == "failed":
            self.ledger.watch(generation)
        self.notifier.wake(gen_id)

    def reset(self) -> None:
        """Forget generations, charges and webhook deliveries; cancel pending webhooks."""
        with self.lock:
            self.generations.clear()
        self.ledger.reset()
        self.notifier.reset()

    def deliveries(self) -> list[Delivery]:
        """A copy of the webhook delivery log."""
        return self.notifier.deliveries()

    def _read_for_webhook(self, gen_id: str) -> tuple[dict[str, Any] | None, float | None]:
        now = time.monotonic()
        with self.lock:
            generation = self.generations.get(gen_id)
            if generation is None:
                return None, None
            return self.as_api(generation, now), generation.next_change(now)

    def as_api(self, generation: SandboxGeneration, now_mono: float) -> dict[str, Any]:
        """The generation object as the API answers it now, in the settings' dialect."""
        return generation.to_dict(self.base_url, now_mono, assets_as_strings=self.settings.assets_as_strings)
