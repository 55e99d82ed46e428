"""The batch operator's arguments, checked when the DAG is parsed."""

from __future__ import annotations

from typing import Any

from airflow_provider_creatify.exceptions import CreatifyConfigError

#: What ``on_invalid`` may be.
ON_INVALID = ("fail", "skip")


def check_options(
    task_id: str,
    *,
    items: Any,
    items_path: Any,
    on_invalid: str,
    max_in_flight: int | None,
    max_failed: float,
) -> None:
    """Refuse arguments that cannot work together, naming the task.

    :raises CreatifyConfigError: both or neither of ``items`` and ``items_path``; an unknown ``on_invalid``;
        ``max_in_flight`` below 1; ``max_failed`` neither a count nor a fraction below 1.
    """
    if (items is None) == (items_path is None):
        raise CreatifyConfigError(f"Task {task_id!r}: pass either items or items_path, not both.")
    if on_invalid not in ON_INVALID:
        raise CreatifyConfigError(f"Task {task_id!r}: on_invalid must be one of {ON_INVALID}.")
    if max_in_flight is not None and max_in_flight < 1:
        raise CreatifyConfigError(f"Task {task_id!r}: max_in_flight must be at least 1 (or None).")
    if max_failed < 0 or (isinstance(max_failed, float) and max_failed >= 1):
        raise CreatifyConfigError(
            f"Task {task_id!r}: max_failed is a count (an int >= 0) or a fraction in [0, 1)."
        )
