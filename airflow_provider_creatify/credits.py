"""The credits guard (``min_remaining_credits``): read the account's balance before creating.

Shared by the create operator's submission and the batch, which checks before each chunk.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyInsufficientCreditsError,
    CreatifyRefusedError,
)
from airflow_provider_creatify.generation import format_credits
from airflow_provider_creatify.hooks._http import readable

if TYPE_CHECKING:
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.protocols import Log


def check_credits(hook: CreatifyHook, minimum: float, what: str, log: Log) -> None:
    """Read the account's balance; raise unless it is at least ``minimum`` (``min_remaining_credits``).

    :param what: what would be created, for messages: "a Creatify generation of model 'x'".
    :raises CreatifyInsufficientCreditsError: the balance is below ``minimum``.
    :raises CreatifyRefusedError: the balance cannot be read (the endpoint is an extra, it may differ).
    """
    try:
        remaining = hook.remaining_credits()
    except CreatifyAPIError as err:
        if err.is_transient or isinstance(err, CreatifyAuthError):
            raise
        raise CreatifyRefusedError(  # the balance endpoint is an extra: it may be missing or differ
            f"Not creating {what}: this task's min_remaining_credits needs the account's balance, and "
            f"Airflow connection {hook.creatify_conn_id!r} could not read it (HTTP {err.http_status}: "
            f"{readable(err.body.encode())}). Nothing was created. Remove min_remaining_credits to "
            "create without the guard; Creatify still refuses a create the account cannot pay.",
            http_status=err.http_status,
            body=err.body,
        ) from None
    if remaining < minimum:
        raise CreatifyInsufficientCreditsError(
            f"Not creating {what}: the account of Airflow connection {hook.creatify_conn_id!r} has "
            f"{format_credits(remaining)} credits left, below this task's min_remaining_credits="
            f"{format_credits(minimum)}. Nothing was created. Add credits (or lower min_remaining_credits) "
            "and clear the task.",
            remaining_credits=remaining,
        )
    log.info(
        "The Creatify account has %s credits left (min_remaining_credits=%s).",
        format_credits(remaining),
        format_credits(minimum),
    )
