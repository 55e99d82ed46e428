"""The sandbox's reads of many: the list of generations and the schemas, in the settings' dialect.

Without ``ids`` the list answers a bare array, newest first, at most ``limit`` (1 to :data:`MAX_LIST`,
default 100). The real ordering and pagination are undocumented: this is the sandbox's guess. The other
shapes a real listing may take (pages, fields left out, ``ids`` ignored, a status instead) are the
``SandboxSettings`` dialects, applied here. Pages of a fixed size follow Django REST framework's
page-number pagination: ``?page=N``, ``limit`` ignored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from airflow_provider_creatify.endpoints import GENERATIONS_PATH, MAX_IDS_PER_READ, SCHEMAS_PATH
from airflow_provider_creatify.sandbox import catalogue
from airflow_provider_creatify.sandbox.asgi import Response, json_response
from airflow_provider_creatify.sandbox.state import SandboxState

#: The most generations a list without ``ids`` returns (the sandbox's choice).
MAX_LIST = 100
NOT_FOUND = {"detail": "Not found."}


def list_generations(state: SandboxState, query: dict[str, list[str]]) -> Response:
    """``GET /api/asset_generator/``: with ``ids``, those generations in the order asked.

    Unknown or malformed ids are absent, duplicates once, at most ``MAX_IDS_PER_READ``. Without ``ids``,
    the newest first, at most ``limit``. With ``list_status`` set, that status instead.

    :param state: the generations and the live settings.
    :param query: the parsed query string.
    """
    settings = state.settings
    if settings.list_status is not None:
        return status_answer(settings.list_status)
    if "ids" in query and not settings.list_ignores_ids:
        ids = [i.strip() for value in query["ids"] for i in value.split(",") if i.strip()]
        if len(ids) > MAX_IDS_PER_READ:
            return json_response(400, [f"At most {MAX_IDS_PER_READ} ids per request, got {len(ids)}."])
        return _listed(state, state.read(ids), query)
    if settings.list_page_size:
        return _listed(state, state.newest(None), query)
    limit = query.get("limit", [str(MAX_LIST)])[-1].strip()
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIST:
        return json_response(400, {"limit": [f"Ensure this value is between 1 and {MAX_LIST}."]})
    return _listed(state, state.newest(int(limit)), query)


def status_answer(status: int) -> Response:
    """What an absent (404) or failing (5xx) endpoint answers.

    A 502 is a proxy's HTML page, as a gateway in front of the API gives it. Any other status is JSON.

    :param status: the HTTP status to answer.
    """
    if status == 502:
        title = b"502 Bad Gateway"
        html = b"<html><head><title>" + title + b"</title></head><body><h1>" + title + b"</h1></body></html>"
        return Response(502, html, b"text/html")
    if status == 404:
        return json_response(404, NOT_FOUND)
    detail = "A server error occurred." if status >= 500 else "Refused by the sandbox's list_status."
    return json_response(status, {"detail": detail})


def _listed(state: SandboxState, generations: list[dict[str, Any]], query: dict[str, list[str]]) -> Response:
    """The list endpoint's answer: without the fields of ``list_omits``; pages with ``list_pages`` or
    ``list_page_size``."""
    settings = state.settings
    if settings.list_omits:
        generations = [{k: v for k, v in g.items() if k not in settings.list_omits} for g in generations]
    if settings.list_page_size:
        return _page(state, GENERATIONS_PATH, generations, settings.list_page_size, query)
    if settings.list_pages:
        page = {"count": len(generations), "next": None, "previous": None, "results": generations}
        return json_response(200, page)
    return json_response(200, generations)


def _page(
    state: SandboxState, path: str, items: list[Any], size: int, query: dict[str, list[str]]
) -> Response:
    """Page ``?page=N`` of ``items``, ``size`` a page, with the absolute URL of the next (the same query)."""
    asked = query.get("page", ["1"])[-1]
    page = int(asked) if asked.isdigit() and int(asked) >= 1 else 1
    following = None
    if len(items) > page * size:
        rest = {key: values[-1] for key, values in query.items() if key != "page"}
        following = f"{state.base_url}{path}?{urlencode({**rest, 'page': page + 1})}"
    results = items[(page - 1) * size : page * size]
    return json_response(200, {"count": len(items), "next": following, "previous": None, "results": results})


def list_schemas(state: SandboxState, query: dict[str, list[str]]) -> Response:
    """``GET /api/asset_generator/schemas/``: every model (or those of ``model_name``).

    The settings' dialect may answer pages (``schema_page_size``) or schemas as text (``schemas_as_text``).

    :param state: the live settings and the sandbox's address (for a page's ``next``).
    :param query: the parsed query string.
    """
    settings = state.settings
    names = ",".join(query["model_name"]) if "model_name" in query else None
    models = catalogue.list_schemas(names)
    if settings.schemas_as_text:
        models = [{**m, "input_params_schema": json.dumps(m["input_params_schema"])} for m in models]
    if not settings.schema_page_size:
        return json_response(200, models)
    return _page(state, SCHEMAS_PATH, models, settings.schema_page_size, query)
