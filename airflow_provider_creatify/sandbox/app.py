"""The sandbox's ASGI application: routing, the API's answers, in-memory state, webhooks.

Plain ASGI (no framework routing; the plumbing is in ``asgi.py``) keeps a status poll to a few
microseconds of app time.
State is guarded by one lock: the server thread writes while the test thread reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from airflow_provider_creatify.sandbox.faults import FaultInjector, FaultRule, RequestLog
from airflow_provider_creatify.sandbox.generation import SandboxGeneration
from airflow_provider_creatify.sandbox.settings import SandboxSettings

FINAL_STATUSES = ("done", "failed")
CREATE_PATH = "/api/asset_generator/"
SCHEMAS_PATH = "/api/asset_generator/schemas/"
MAX_WEBHOOK_URL = 200
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
        self.webhook_deliveries: list[tuple[str, int | None, dict[str, Any]]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        if path == SCHEMAS_PATH:
            if method not in ("GET", "HEAD"):
                return self._not_allowed(method, b"GET, HEAD, OPTIONS")
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            names = ",".join(query["model_name"]) if "model_name" in query else None
            return json_response(200, catalogue.list_schemas(names))
        if path == CREATE_PATH:
            if method != "POST":
                return self._not_allowed(method, b"POST, OPTIONS")
            return self._create(await read_body(receive))
        if method not in ("GET", "HEAD"):
            return self._not_allowed(method, b"GET, HEAD, OPTIONS")
        snapshot = self.generation(path[len(CREATE_PATH) : -1])
        return json_response(200, snapshot) if snapshot is not None else json_response(404, _NOT_FOUND)

    @staticmethod
    def _is_route(path: str) -> bool:
        if path in (SCHEMAS_PATH, CREATE_PATH):
            return True
        return path.startswith(CREATE_PATH) and path.count("/") == 4 and len(path) > len(CREATE_PATH) + 1

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
        elif model_name not in catalogue.MODELS:
            errors["model_name"] = [f'"{model_name}" is not a valid choice.']
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
        messages = catalogue.validation_errors(model_name, params)
        if messages:
            return json_response(400, {"input_params": messages})
        generation = self._new_generation(catalogue.MODELS[model_name], params, webhook_url)
        return json_response(200, generation.to_dict(self.base_url, generation.created_mono))

    def _new_generation(
        self, model: catalogue.ModelSpec, params: dict[str, Any], webhook_url: str | None
    ) -> SandboxGeneration:
        s = self.settings
        text = params.get("prompt", params.get("text"))
        fails = bool(s.fail_marker and isinstance(text, str) and s.fail_marker in text)
        if not fails and s.fail_rate > 0:
            fails = self.rng.random() < s.fail_rate
        seconds = max(0.0, s.generation_seconds)
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
        )
        with self.lock:
            self.generations[generation.id] = generation
        if webhook_url is not None:
            self.loop = asyncio.get_running_loop()
            self._timers[generation.id] = self.loop.call_later(seconds + 0.005, self._on_timer, generation.id)
        return generation

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

    def force_status(self, gen_id: str, status: str, failed_reason: str | None = None) -> None:
        """Pin a generation to ``status`` (thread-safe); a final status triggers its webhook."""
        with self.lock:
            generation = self.generations.get(gen_id)
            if generation is None:
                raise KeyError(gen_id)
            generation.forced_status = status
            generation.forced_reason = (
                (failed_reason or self.settings.failed_reason) if status == "failed" else ""
            )
            generation.forced_wall = time.time()
            has_webhook = generation.webhook_url is not None
        if has_webhook and self.loop is not None:
            with contextlib.suppress(RuntimeError):  # server already stopped
                self.loop.call_soon_threadsafe(self._on_forced, gen_id)

    def reset(self) -> None:
        """Forget generations and webhook deliveries; cancel pending webhooks."""
        with self.lock:
            self.generations.clear()
            self.webhook_deliveries.clear()
        if self.loop is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._cancel_pending)

    def deliveries(self) -> list[tuple[str, int | None, dict[str, Any]]]:
        """A copy of the webhook delivery log."""
        with self.lock:
            return list(self.webhook_deliveries)

    # --------------------------------------------------------------- webhooks
    def _cancel_pending(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()

    def _on_timer(self, gen_id: str) -> None:
        self._timers.pop(gen_id, None)
        with self.lock:
            generation = self.generations.get(gen_id)
            left = generation.remaining(time.monotonic()) if generation else 0.0
            pending = generation is not None and generation.forced_status is None and left > 0
        if pending and self.loop is not None:
            self._timers[gen_id] = self.loop.call_later(left + 0.005, self._on_timer, gen_id)
            return
        self._spawn_delivery(gen_id)

    def _on_forced(self, gen_id: str) -> None:
        handle = self._timers.pop(gen_id, None)
        if handle is not None:
            handle.cancel()
        self._spawn_delivery(gen_id)

    def _spawn_delivery(self, gen_id: str) -> None:
        payload = self.generation(gen_id)
        if payload is None or payload["status"] not in FINAL_STATUSES or not payload["webhook_url"]:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(payload["webhook_url"], payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, payload: dict[str, Any]) -> None:
        """POST the notice ``webhook_repeat`` times; failures are recorded, never raised."""
        import httpx

        headers = {"user-agent": "creatify-sandbox-webhook/1"}
        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout, trust_env=False) as client:
            for _ in range(max(0, self.settings.webhook_repeat)):
                code: int | None = None
                try:
                    code = (await client.post(url, json=payload, headers=headers)).status_code
                except Exception:  # any delivery failure is only recorded
                    code = None
                with self.lock:
                    self.webhook_deliveries.append((url, code, payload))
