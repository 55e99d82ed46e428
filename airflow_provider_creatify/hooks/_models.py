"""The hook's models (private): the schemas endpoint, each model's ``input_params`` schema, validation.

:class:`ModelReads` is a base of :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook`: it reads
``GET /api/asset_generator/schemas/`` through the hook's requests client and keeps each model's schema for
the hook's life. Validating against a schema is :mod:`airflow_provider_creatify.schemas`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_creatify import schemas
from airflow_provider_creatify.endpoints import SCHEMAS_PATH
from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyValidationError


class ModelReads:
    """The models, their schemas and input validation, for the worker (blocking reads)."""

    _schemas: dict[str, dict[str, Any]]

    def _request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        raise NotImplementedError  # CreatifyHook's

    def list_models(self, model_names: list[str] | None = None) -> list[dict[str, Any]]:
        """Models with their ``generation_type`` and ``input_params_schema``.

        :param model_names: only these models (unknown names are simply absent from the answer).
        """
        params = {"model_name": ",".join(model_names)} if model_names else None
        models = self._request("GET", SCHEMAS_PATH, "Listing Creatify models", params=params)
        if not isinstance(models, list):
            raise CreatifyAPIError(
                f"Listing Creatify models failed: expected a JSON array, got {type(models).__name__}.",
                http_status=200,
            )
        for model in models:
            if isinstance(model, dict) and model.get("model_name"):
                self._schemas[model["model_name"]] = model.get("input_params_schema") or {}
        return models

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
        return self._schemas[model_name]

    def validate_input(self, model_name: str, input_params: Any) -> None:
        """Check ``input_params`` against the model's schema; nothing is sent (:mod:`.schemas`).

        :raises CreatifyValidationError: naming the model and the offending field.
        """
        schemas.require_object(model_name, input_params)
        schemas.validate_input(model_name, self.get_input_schema(model_name), input_params)
