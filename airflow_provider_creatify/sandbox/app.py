"""The sandbox's ASGI application: routing, the API's answers and in-memory state.

Plain ASGI (no framework routing; the plumbing is in ``asgi.py``) keeps a status poll to a few
microseconds of app time. Generations are guarded by one lock: the server thread writes while the test
thread reads. Credits are kept by ``credits.py``, webhook notices sent by ``webhooks.py``.

Where Creatify documents no shape, the sandbox guesses, and says so here:

- a create the balance cannot pay: ``400`` with a bare JSON list, like the live unknown-model error,
  ``["Insufficient credits: 3.5 remaining, this generation needs 12."]``; nothing is created;
- a failed generation is refunded (``credits_used`` stays ``"0"``);
- ``GET /api/asset_generator/`` without ``ids``: a bare array, newest first, at most ``limit`` (1 to 100,
  default 100); the real ordering and pagination are undocumented;
- an image's ``duration`` is ``0``; an audio's ``resolution`` and ``aspect_ratio`` are ``""``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_creatify.endpoints import CREDITS_PATH, GENERATIONS_PATH, MAX_IDS_PER_READ, SCHEMAS_PATH
from airflow_provider_creatify.sandbox import catalogue, media
from airflow_provider_creatify.sandbox.asgi import (
    JSON,
    Receive,
    Response,
    Scope,
    Send,
    json_response,
    read_body,
    send_partial,
    send_response,
)
from airflow_provider_creatify.sandbox.credits import CreditLedger, credits_used_string
from airflow_provider_creatify.sandbox.faults import FaultInjector, FaultRule, RequestLog
from airflow_provider_creatify.sandbox.generation import SandboxGeneration
from airflow_provider_creatify.sandbox.settings import SandboxSettings
from airflow_provider_creatify.sandbox.webhooks import Delivery, WebhookNotifier

MAX_WEBHOOK_URL = 200
#: The most generations a list without ``ids`` returns (the sandbox's choice).
MAX_LIST = 100
_NOT_FOUND = {"detail": "Not found."}
_TRUNCATED_PLACEHOLDER = (
    b'{"id": "00000000-0000-4000-8000-000000000000", "status": "initializing", "assets": []}'
)


def _valid_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class SandboxApp:
    """ASGI callable emulating the Creatify Asset Generator API."""

    def __init__(
        self, settings: SandboxSettings, faults: FaultInjector, log: RequestLog, rng: random.Random
    ) -> None:
        self.settings = settings
        self.faults = faults
        self.log = log
        self.rng = rng
        self.base_url = ""
        self.lock = threading.Lock()
        self.generations: dict[str, SandboxGeneration] = {}
        self.ledger = CreditLedger()
        self.notifier = WebhookNotifier(self._read_for_webhook, lambda: self.settings)

    # ----------------------------------------------------------------- ASGI entry
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        entry = self.log.start(method, path)
        status = 0
        try:
            decision = self.faults.decide(method, path)
            if decision.delay:
                await asyncio.sleep(decision.delay)
            rule = decision.rule
            if rule is None:
                response = await self._route(scope, receive, method, path)
            elif rule.after_processing:
                response = self._fault_response(rule, await self._route(scope, receive, method, path))
            else:
                response = self._fault_response(rule, None)
            if rule is not None and rule.drop:
                await send_partial(send, response)
            status = response.status
            await send_response(send, response, head=method == "HEAD")
        finally:
            self.log.finish(entry, status)

    # ------------------------------------------------------------------ faults
    @staticmethod
    def _fault_response(rule: FaultRule, real: Response | None) -> Response:
        headers: list[tuple[bytes, bytes]] = []
        if rule.retry_after is not None:
            headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
        if rule.drop:
            return real or Response(200, _TRUNCATED_PLACEHOLDER)
        if rule.body is not None:
            return Response(rule.status or 200, rule.body, JSON, headers)
        status = rule.status or 429
        if status >= 500:
            html = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
            return Response(status, html.encode(), b"text/html", headers)
        detail = "Request was throttled." if status == 429 else "Sandbox fault injected."
        return json_response(status, {"detail": detail}, headers)

    # ----------------------------------------------------------------- routing
    async def _route(self, scope: Scope, receive: Receive, method: str, path: str) -> Response:
        if path.startswith("/media/"):
            return self._media(method, path[len("/media/") :])
        if not path.startswith("/api/"):
            return json_response(404, _NOT_FOUND)
        if not path.endswith("/"):
            if self._is_route(path + "/"):  # Django's APPEND_SLASH behaviour
                query = scope.get("query_string", b"")
                location = (path + "/" + ("?" + query.decode("latin-1") if query else "")).encode()
                return Response(301, b"", b"text/html", [(b"location", location)])
            return json_response(404, _NOT_FOUND)
        if not self._is_route(path):
            return json_response(404, _NOT_FOUND)
        denied = self._authenticate(scope)
        if denied is not None:
            return denied
        raw_query: bytes = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode("latin-1"), keep_blank_values=True) if raw_query else {}
        if path == GENERATIONS_PATH:
            if method == "POST":
                return self._create(await read_body(receive))
            if method in ("GET", "HEAD"):
                return self._list(query)
            return self._not_allowed(method, b"GET, POST, HEAD, OPTIONS")
        if method not in ("GET", "HEAD"):
            return self._not_allowed(method, b"GET, HEAD, OPTIONS")
        if path == SCHEMAS_PATH:
            names = ",".join(query["model_name"]) if "model_name" in query else None
            return json_response(200, catalogue.list_schemas(names))
        if path == CREDITS_PATH:
            return json_response(200, {"remaining_credits": self.remaining_credits()})
        snapshot = self.generation(path[len(GENERATIONS_PATH) : -1])
        return json_response(200, snapshot) if snapshot is not None else json_response(404, _NOT_FOUND)

    @staticmethod
    def _is_route(path: str) -> bool:
        if path in (SCHEMAS_PATH, GENERATIONS_PATH, CREDITS_PATH):
            return True
        return (
            path.startswith(GENERATIONS_PATH)
            and path.count("/") == 4
            and len(path) > len(GENERATIONS_PATH) + 1
        )

    @staticmethod
    def _not_allowed(method: str, allow: bytes) -> Response:
        return json_response(405, {"detail": f'Method "{method}" not allowed.'}, [(b"allow", allow)])

    def _authenticate(self, scope: Scope) -> Response | None:
        api_id = api_key = None
        for name, value in scope["headers"]:
            if name == b"x-api-id":
                api_id = value.decode("latin-1")
            elif name == b"x-api-key":
                api_key = value.decode("latin-1")
        if api_id is None or api_key is None:
            return json_response(401, {"detail": "Authentication credentials were not provided."})
        if api_id != self.settings.api_id or api_key != self.settings.api_key:
            return json_response(401, {"detail": "Invalid API credentials."})
        return None

    @staticmethod
    def _media(method: str, name: str) -> Response:
        if method not in ("GET", "HEAD"):
            return json_response(
                405, {"detail": f'Method "{method}" not allowed.'}, [(b"allow", b"GET, HEAD")]
            )
        found = media.media_file(name) if "/" not in name else None
        if found is None:
            return json_response(404, _NOT_FOUND)
        data, content_type = found
        return Response(200, data, content_type.encode(), [(b"cache-control", b"public, max-age=86400")])

    # ------------------------------------------------------------------ create
    def _create(self, raw: bytes) -> Response:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return json_response(400, {"detail": f"JSON parse error - {exc}"})
        if not isinstance(data, dict):
            kind = type(data).__name__
            return json_response(
                400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
            )
        errors: dict[str, list[str]] = {}
        model_name = data.get("model_name")
        if model_name is None:
            errors["model_name"] = ["This field is required."]
        elif not isinstance(model_name, str):
            errors["model_name"] = ["Not a valid string."]
        params = data.get("input_params")
        if params is None:
            errors["input_params"] = ["This field is required."]
        elif not isinstance(params, dict):
            errors["input_params"] = [
                f'Expected a dictionary of items but got type "{type(params).__name__}".'
            ]
        webhook_url = data.get("webhook_url")
        if webhook_url == "":
            webhook_url = None
        if webhook_url is not None:
            if not isinstance(webhook_url, str):
                errors["webhook_url"] = ["Not a valid string."]
            elif len(webhook_url) > MAX_WEBHOOK_URL:
                errors["webhook_url"] = [f"Ensure this field has no more than {MAX_WEBHOOK_URL} characters."]
            elif not _valid_http_url(webhook_url):
                errors["webhook_url"] = ["Enter a valid URL."]
        if errors:
            return json_response(400, errors)
        assert isinstance(model_name, str) and isinstance(params, dict)
        model = catalogue.MODELS.get(model_name)
        if model is None:
            return json_response(400, ["AI model not found"])  # the live body: a bare list
        messages = catalogue.validation_errors(model_name, params)
        if messages:
            return json_response(400, {"input_params": messages})
        price = model.price(params)
        now = time.monotonic()
        charged, balance = self.ledger.try_charge(price, starting=self.settings.credits, now_mono=now)
        if not charged:
            left, price_text = credits_used_string(balance), credits_used_string(price)
            needs = f"{left} remaining, this generation needs {price_text}"
            return json_response(400, [f"Insufficient credits: {needs}."])
        generation = self._new_generation(model, params, webhook_url, price)
        return json_response(201, generation.to_dict(self.base_url, generation.created_mono))

    def _new_generation(
        self, model: catalogue.ModelSpec, params: dict[str, Any], webhook_url: str | None, price: float
    ) -> SandboxGeneration:
        s = self.settings
        text = params.get("prompt", params.get("text"))
        fails = bool(s.fail_marker and isinstance(text, str) and s.fail_marker in text)
        if not fails and s.fail_rate > 0:
            fails = self.rng.random() < s.fail_rate
        seconds = s.seconds_for(model.typical_seconds)
        generation = SandboxGeneration(
            id=str(uuid.uuid4()),
            model=model,
            input_params=params,
            webhook_url=webhook_url,
            created_wall=time.time(),
            created_mono=time.monotonic(),
            seconds=seconds,
            init_seconds=seconds * min(max(s.initializing_fraction, 0.0), 1.0),
            fails=fails,
            failed_reason=s.failed_reason,
            charge=price,
        )
        if fails:
            self.ledger.watch(generation)
        with self.lock:
            self.generations[generation.id] = generation
        if webhook_url is not None:
            self.notifier.follow(generation.id, webhook_url)
        return generation

    def _list(self, query: dict[str, list[str]]) -> Response:
        """``GET /api/asset_generator/``: with ``ids``, those generations in the order asked (unknown or
        malformed ids absent, duplicates once; at most ``MAX_IDS_PER_READ``); without, the newest first,
        at most ``limit`` (1 to :data:`MAX_LIST`). The real ordering and pagination without ``ids`` are
        undocumented: this is the sandbox's guess.
        """
        now = time.monotonic()
        if "ids" in query:
            ids = [i.strip() for value in query["ids"] for i in value.split(",") if i.strip()]
            if len(ids) > MAX_IDS_PER_READ:
                return json_response(400, [f"At most {MAX_IDS_PER_READ} ids per request, got {len(ids)}."])
            with self.lock:
                found = [self.generations.get(gen_id) for gen_id in dict.fromkeys(ids)]
                listed = [g.to_dict(self.base_url, now) for g in found if g is not None]
            return json_response(200, listed)
        limit = query.get("limit", [str(MAX_LIST)])[-1].strip()
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIST:
            return json_response(400, {"limit": [f"Ensure this value is between 1 and {MAX_LIST}."]})
        with self.lock:
            newest = itertools.islice(reversed(self.generations.values()), int(limit))
            listed = [g.to_dict(self.base_url, now) for g in newest]
        return json_response(200, listed)

    # ------------------------------------------------------------------ state
    def generation(self, gen_id: str) -> dict[str, Any] | None:
        """A snapshot of one generation, or None."""
        with self.lock:
            generation = self.generations.get(gen_id)
            return generation.to_dict(self.base_url, time.monotonic()) if generation else None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Snapshots of every generation."""
        now = time.monotonic()
        with self.lock:
            return {k: g.to_dict(self.base_url, now) for k, g in self.generations.items()}

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
            return generation.to_dict(self.base_url, now), generation.next_change(now)
