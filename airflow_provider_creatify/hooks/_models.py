"""The hook's models (private): the schemas endpoint, each model's ``input_params`` schema, validation.

:class:`ModelReads` is a base of :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook`: it reads
``GET /api/asset_generator/schemas/`` through the hook's requests client and keeps each model's schema for
the hook's life. Validating against a schema is :mod:`airflow_provider_creatify.schemas`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow_provider_creatify import schemas
from airflow_provider_creatify.endpoints import SCHEMAS_PATH
from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyValidationError
from airflow_provider_creatify.generation import listed

#: The most pages of the schemas listing read (a page of 100 models each would be 5,000 models).
MAX_SCHEMA_PAGES = 50


def decoded_schema(model: Any) -> Any:
    """A model entry with an ``input_params_schema`` given as JSON text decoded; any other entry as it is."""
    if not isinstance(model, dict) or not isinstance(model.get("input_params_schema"), str):
        return model
    try:
        return {**model, "input_params_schema": json.loads(model["input_params_schema"])}
    except (ValueError, RecursionError):
        return model  # left as text: get_input_schema says it is not an object


class ModelReads:
    """The models, their schemas and input validation, for the worker (blocking reads)."""

    _schemas: dict[str, Any]

    def _request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        raise NotImplementedError  # CreatifyHook's

    def list_models(self, model_names: list[str] | None = None) -> list[dict[str, Any]]:
        """Models with their ``generation_type`` and ``input_params_schema``.

        :param model_names: only these models (unknown names are simply absent from the answer).
        """
        params = {"model_name": ",".join(model_names)} if model_names else None
        what = "Listing Creatify models"
        pages = self._pages(SCHEMAS_PATH, what, MAX_SCHEMA_PAGES, params=params)
        models = [decoded_schema(model) for data in pages for model in listed(data, what)]
        for model in models:
            if isinstance(model, dict) and model.get("model_name"):
                self._schemas[model["model_name"]] = model.get("input_params_schema") or {}
        return models

    def _pages(self, path: str, what: str, max_pages: int, **kwargs: Any) -> Iterator[Any]:
        raise NotImplementedError  # CreatifyHook's: it knows the base URL

    def describe_models(self, model_names: list[str] | None = None) -> list[dict[str, Any]]:
        """Models with their ``generation_type`` and input fields (required first), sorted by model name.

        Each field is ``{"name", "required", "type", "enum", "default", "description"}``
        (see :func:`airflow_provider_creatify.schemas.input_fields`).

        :param model_names: only these models (unknown names are simply absent from the answer).
        """
        return schemas.describe_models(self.list_models(model_names))

    def get_input_schema(self, model_name: str) -> dict[str, Any]:
        """The JSON Schema of one model's ``input_params``.

        :raises CreatifyValidationError: the model does not exist.
        """
        if model_name not in self._schemas:
            self.list_models([model_name])
        if model_name not in self._schemas:
            self.list_models()  # every model's schema, to name them
            known = ", ".join(sorted(self._schemas)) or "none"
            raise CreatifyValidationError(
                f"Unknown Creatify model {model_name!r}. Available models: {known}.",
                model_name=model_name,
            )
        schema = self._schemas[model_name]
        if not isinstance(schema, dict):
            raise CreatifyAPIError(
                f"Creatify's input_params_schema of model {model_name!r} is not a JSON object (got "
                f"{type(schema).__name__}: {str(schema)[:100]!r}), so input_params cannot be checked "
                "against it. Create without checking (validate_input=False), or ask Creatify support.",
                http_status=200,
            )
        return schema

    def validate_input(self, model_name: str, input_params: Any) -> None:
        """Check ``input_params`` against the model's schema; nothing is sent (:mod:`.schemas`).

        :raises CreatifyValidationError: naming the model and the offending field.
        """
        schemas.require_object(model_name, input_params)
        schemas.validate_input(model_name, self.get_input_schema(model_name), input_params)
