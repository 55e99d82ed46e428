"""Fault injection rules and the request log (stdlib only, thread-safe)."""

from __future__ import annotations

import dataclasses
import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple


@lru_cache(maxsize=256)
def path_pattern(path: str) -> re.Pattern[str]:
    """Compile a path template (``/api/asset_generator/{id}/``) or an exact path into a regex."""
    parts = re.split(r"(\{[^/{}]+\})", path)
    regex = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
    return re.compile(regex + r"\Z")


# Fixed routes a placeholder never stands for: "/api/asset_generator/{id}/" is not the schema list.
LITERAL_ROUTES = frozenset({"/api/asset_generator/schemas/"})


def template_matches(template: str, path: str) -> bool:
    """True if ``path`` is ``template`` or an instance of it (placeholders never match a fixed route)."""
    if template == path:
        return True
    if path in LITERAL_ROUTES and "{" in template:
        return False
    return path_pattern(template).match(path) is not None


def path_matches(template: str | None, path: str) -> bool:
    """Like :func:`template_matches`; ``None`` matches every API path (``/api/...``), never ``/media``."""
    if template is None:
        return path.startswith("/api/")
    return template_matches(template, path)


@dataclass
class FaultRule:
    """One fault: which requests it hits, how often, and what the client gets instead of the answer.

    ``status``/``drop``/``body``/``retry_after`` decide the response: the first such rule that fires
    wins and later ones are skipped (they keep their ``count``), so ``count=1`` rules queue up in order.
    ``delay`` of every firing rule adds up. ``count`` (next N matching requests) overrides ``rate``.
    ``path`` is a template (``{name}`` = one segment) or an exact path; ``None`` = every ``/api/`` path.
    ``/api/asset_generator/`` is both the create (POST) and the list (GET): tell them apart by ``method``;
    the template ``/api/asset_generator/{id}/`` (one generation) never matches it, nor the schema list.
    A status rule without a body answers JSON ``{"detail": ...}`` below 500, an HTML page from 500.
    ``drop``: the status line and a Content-Length are sent, then about half of the body, then the
    connection is closed: requests raises ``ChunkedEncodingError``, aiohttp ``ClientPayloadError``,
    httpx ``RemoteProtocolError``. ``retry_after`` adds a ``Retry-After`` header (429 if no status).
    With ``after_processing=True`` the request is processed first (a POST creates its generation),
    then the fault replaces the real response.
    """

    method: str | None = None
    path: str | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: bool = False
    body: bytes | None = None
    rate: float = 1.0
    count: int | None = None
    after_processing: bool = False

    @property
    def shapes_response(self) -> bool:
        """True if the rule replaces the response (not only delays it)."""
        return self.drop or self.status is not None or self.body is not None or self.retry_after is not None


@dataclass
class FaultDecision:
    """What the fault injector decided for one request."""

    delay: float = 0.0
    rule: FaultRule | None = None


@dataclass
class _ActiveRule:
    rule: FaultRule
    remaining: int | None = field(default=None)


class FaultInjector:
    """Holds the active rules and decides, per request, which fire."""

    def __init__(self, rng: random.Random) -> None:
        self._lock = threading.Lock()
        self._rules: list[_ActiveRule] = []
        self.rng = rng

    def add(self, rule: FaultRule) -> None:
        """Add a copy of ``rule`` (the caller's object is never mutated)."""
        copy = dataclasses.replace(rule, method=rule.method.upper() if rule.method else None)
        with self._lock:
            self._rules.append(_ActiveRule(copy, copy.count))

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """The rules still able to fire."""
        with self._lock:
            return [a.rule for a in self._rules if a.remaining is None or a.remaining > 0]

    def decide(self, method: str, path: str) -> FaultDecision:
        """Evaluate every rule against one request."""
        decision = FaultDecision()
        if not self._rules:
            return decision
        with self._lock:
            for active in self._rules:
                rule = active.rule
                if rule.method is not None and rule.method != method:
                    continue
                if not path_matches(rule.path, path):
                    continue
                if decision.rule is not None and rule.shapes_response:
                    continue  # shadowed by an earlier rule: it neither fires nor spends its count
                if active.remaining is not None:
                    if active.remaining <= 0:
                        continue
                    active.remaining -= 1
                elif rule.rate < 1.0 and self.rng.random() >= rule.rate:
                    continue
                decision.delay += max(0.0, rule.delay)
                if decision.rule is None and rule.shapes_response:
                    decision.rule = rule
            self._rules = [a for a in self._rules if a.remaining is None or a.remaining > 0]
        return decision


class CreateRateLimiter:
    """At most ``limit`` creates in any second: a sliding window, as Django REST framework throttles.

    An admitted create takes a slot for one second (whatever its answer); a create finding every slot
    taken is refused, and told when the oldest slot frees. The limit is passed on every call (the live
    setting), so a test may change it mid-run.
    """

    window = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: deque[float] = deque()

    def admit(self, limit: int, now: float) -> float | None:
        """Take a slot: ``None`` if admitted, else the seconds until one frees (more than 0).

        :param limit: creates allowed per second.
        :param now: ``time.monotonic()``.
        """
        with self._lock:
            admitted = self._admitted
            while admitted and admitted[0] <= now - self.window:
                admitted.popleft()
            if len(admitted) < limit:
                admitted.append(now)
                return None
            return admitted[-limit] + self.window - now


def throttled_detail(wait: float) -> tuple[str, str]:
    """A throttled request's ``Retry-After`` (whole seconds, rounded up, at least 1: RFC 9110 has no
    fractions) and its ``detail``, in Django REST framework's words."""
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    return str(seconds), f"Request was throttled. Expected available in {seconds} {unit}."


class RequestRecord(NamedTuple):
    """One request seen by the sandbox. ``status`` 0 = connection dropped (or still in flight)."""

    method: str
    path: str
    status: int
    time: float
    query: str = ""


class RequestLog:
    """Arrival-ordered log of every request, faulted ones included (the oldest beyond ``max_records`` go)."""

    def __init__(self, max_records: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[list[object]] = deque(maxlen=max_records)

    def start(self, method: str, path: str, query: str = "") -> list[object]:
        """Record an arriving request (``query``: its query string); returns a handle for :meth:`finish`."""
        entry: list[object] = [method, path, 0, time.time(), query]
        with self._lock:
            self._records.append(entry)
        return entry

    @staticmethod
    def finish(entry: list[object], status: int) -> None:
        """Set the final status of a request."""
        entry[2] = status

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the log."""
        with self._lock:
            return [RequestRecord(*e) for e in self._records]  # type: ignore[arg-type]

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """How many requests match (``path`` is a template or an exact path; ``None`` = any)."""
        wanted = method.upper() if method else None
        return sum(
            1
            for r in self.snapshot()
            if (wanted is None or r.method == wanted)
            and (path is None or template_matches(path, r.path))
            and (status is None or r.status == status)
        )
