"""The sandbox's ASGI application: faults applied, routing, authentication and the API's answers.

Plain ASGI (no framework routing; the plumbing is in ``asgi.py``) keeps a status poll to a few
microseconds of app time. What a create must hold is checked by ``validation.py``. The generations,
credits and webhook notices are kept by ``state.py``. The lists (generations, schemas) are answered by
``listing.py``.

Where Creatify documents no shape, the sandbox guesses, and says so here:

- a create the balance cannot pay: ``400`` with a bare JSON list, like the live unknown-model error,
  ``["Insufficient credits: 3.5 remaining, this generation needs 12."]``; nothing is created;
- a failed generation is refunded (``credits_used`` stays ``"0"``);
- ``GET /api/asset_generator/`` without ``ids``: a bare array, newest first, at most ``limit`` (1 to 100,
  default 100); the real ordering and pagination are undocumented (``listing.py``);
- an image's ``duration`` is ``0``; an audio's ``resolution`` and ``aspect_ratio`` are ``""``;
- a create above ``create_rate_limit`` a second (authenticated, before validation, as Django REST
  framework throttles): ``429``, ``Retry-After`` in whole seconds until a slot frees, and
  ``{"detail": "Request was throttled. Expected available in 1 second."}``; nothing is created or charged.
"""

from __future__ import annotations

import asyncio
import random
import time
from urllib.parse import parse_qs

from airflow_provider_creatify.endpoints import CREDITS_PATH, GENERATIONS_PATH, SCHEMAS_PATH
from airflow_provider_creatify.sandbox import media
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
from airflow_provider_creatify.sandbox.credits import credits_used_string
from airflow_provider_creatify.sandbox.faults import (
    CreateRateLimiter,
    FaultInjector,
    FaultRule,
    RequestLog,
    throttled_detail,
)
from airflow_provider_creatify.sandbox.generation import new_generation
from airflow_provider_creatify.sandbox.listing import NOT_FOUND, list_generations, list_schemas
from airflow_provider_creatify.sandbox.state import SandboxState
from airflow_provider_creatify.sandbox.validation import check_create

_TRUNCATED_PLACEHOLDER = (
    b'{"id": "00000000-0000-4000-8000-000000000000", "status": "initializing", "assets": []}'
)


class SandboxApp:
    """ASGI callable emulating the Creatify Asset Generator API.

    :param state: the generations, credits and webhook notices it answers from (and the live settings).
    :param faults: the fault rules it applies.
    :param log: where it logs every request.
    :param rng: the sandbox's seeded random source (for ``fail_rate``).
    """

    def __init__(
        self, *, state: SandboxState, faults: FaultInjector, log: RequestLog, rng: random.Random
    ) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.rng = rng
        self.create_limiter = CreateRateLimiter()

    # ----------------------------------------------------------------- ASGI entry
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        entry = self.log.start(method, path, scope.get("query_string", b"").decode("latin-1"))
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
            return json_response(404, NOT_FOUND)
        if not path.endswith("/"):
            if self._is_route(path + "/"):  # Django's APPEND_SLASH behaviour
                query = scope.get("query_string", b"")
                location = (path + "/" + ("?" + query.decode("latin-1") if query else "")).encode()
                return Response(301, b"", b"text/html", [(b"location", location)])
            return json_response(404, NOT_FOUND)
        if not self._is_route(path):
            return json_response(404, NOT_FOUND)
        denied = self._authenticate(scope)
        if denied is not None:
            return denied
        raw_query: bytes = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode("latin-1"), keep_blank_values=True) if raw_query else {}
        if path == GENERATIONS_PATH:
            if method == "POST":
                body = await read_body(receive)  # read even when throttled: the connection stays usable
                return self._throttled() or self._create(body)
            if method in ("GET", "HEAD"):
                return list_generations(self.state, query)
            return self._not_allowed(method, b"GET, POST, HEAD, OPTIONS")
        if method not in ("GET", "HEAD"):
            return self._not_allowed(method, b"GET, HEAD, OPTIONS")
        if path == SCHEMAS_PATH:
            return list_schemas(self.state, query)
        if path == CREDITS_PATH:
            return json_response(200, {"remaining_credits": self.state.remaining_credits()})
        snapshot = self.state.generation(path[len(GENERATIONS_PATH) : -1])
        return json_response(200, snapshot) if snapshot is not None else json_response(404, NOT_FOUND)

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
        settings = self.state.settings
        if api_id != settings.api_id or api_key != settings.api_key:
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
            return json_response(404, NOT_FOUND)
        data, content_type = found
        return Response(200, data, content_type.encode(), [(b"cache-control", b"public, max-age=86400")])

    # ------------------------------------------------------------------ create
    def _throttled(self) -> Response | None:
        """The 429 of a create above ``create_rate_limit``; ``None`` if it may go on."""
        limit = self.state.settings.create_rate_limit
        wait = None if limit is None else self.create_limiter.admit(limit, time.monotonic())
        if wait is None:
            return None
        retry_after, detail = throttled_detail(wait)
        return json_response(429, {"detail": detail}, [(b"retry-after", retry_after.encode())])

    def _create(self, raw: bytes) -> Response:
        asked = check_create(raw)
        if isinstance(asked, Response):
            return asked
        state, price = self.state, asked.model.price(asked.params)
        if state.settings.forbidden_reason is not None:  # a plan or an account refusal: nothing charged
            return json_response(403, {"detail": state.settings.forbidden_reason})
        now = time.monotonic()
        charged, balance = state.ledger.try_charge(price, starting=state.settings.credits, now_mono=now)
        if not charged:
            left, price_text = credits_used_string(balance), credits_used_string(price)
            needs = f"{left} remaining, this generation needs {price_text}"
            return json_response(400, [f"Insufficient credits: {needs}."])
        generation = new_generation(
            model=asked.model,
            params=asked.params,
            webhook_url=asked.webhook_url,
            charge=price,
            settings=state.settings,
            rng=self.rng,
        )
        state.add(generation)
        if state.settings.create_answers_id_only:
            return json_response(201, {"id": generation.id})
        return json_response(201, state.as_api(generation, generation.created_mono))
