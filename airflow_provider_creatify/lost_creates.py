"""A create whose answer was lost: the generation it made, found in the account's list, or proof of none.

A POST that reached Creatify without its answer coming back (a dropped connection, a timeout, a 5xx from a
proxy) may have made, and billed, a generation. :func:`search_lost` looks for it among the account's
newest generations by what it was made from (:func:`fingerprint`). It says "none" only on proof; the
caller then creates again. Without proof it gives the doubt, a
:class:`~airflow_provider_creatify.exceptions.CreatifyCreateUncertainError`, and nothing is created.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyCreateUncertainError

if TYPE_CHECKING:
    from airflow_provider_creatify.generation import Generation
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.protocols import Log

#: What an item was created from: its model and its input.
Made = tuple[str, Any]
#: Clock skew allowed between this machine and Creatify when a lost generation's ``created_at`` is
#: compared with the moment a try set out to create it.
CLOCK_SKEW_SECONDS = 120.0
#: After a create's answer was lost: how many times the account's list is searched, and how far apart,
#: before concluding that the POST never reached Creatify (a slow create may be listed late).
LOST_SEARCHES = 3
LOST_SEARCH_INTERVAL = 5.0


def fingerprint(model_name: str, input_params: Any) -> str:
    """A digest of what a generation is made from: the model and the rendered input, key order aside.

    :param model_name: the Creatify model.
    :param input_params: the model's input, as sent.
    """
    canonical = json.dumps(
        {"model_name": model_name, "input_params": input_params},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_lost_many(
    hook: CreatifyHook,
    wanted: Mapping[str, Made],
    since: float,
    known: Collection[str] = (),
    what: str = "several models",
) -> dict[str, Generation | None]:
    """The generations that creates of some items made since ``since``, found by one read of the list.

    Items with the same model and input are interchangeable: each gets one of the matches. An item gets
    ``None`` only on proof that there is none: the account's list read, covering the whole window since
    ``since``; every generation in it recognisable (its model, ``input_params`` and creation time given);
    and none that holds an item's input stored otherwise (more fields, values in another case or spacing,
    numbers as text), as an API that stores its defaults or normalises its input would list the item's
    own generation. Anything less is no proof that the POST never reached Creatify.

    :param wanted: each item's key and what it was created from: its model and its input.
    :param since: when the items set out to be created (epoch seconds); ``CLOCK_SKEW_SECONDS`` earlier count.
    :param known: ids already held (by other items or tasks): not any item's.
    :param what: the model or models, for the error message.
    :raises CreatifyCreateUncertainError: for all of them: more matches of an input than items that
        want it (which to pay for is not guessed), or no proof either way (the list failed, showed only
        part of the window, left out what identifies a generation, or holds an input stored otherwise).
    """
    start = since - CLOCK_SKEW_SECONDS
    try:
        listed, complete = hook.list_generations_since(start)
    except CreatifyAPIError as err:
        raise lost_create_unknown(what, start, f"the account's list could not be read ({err})") from None
    digests = {key: fingerprint(*made) for key, made in wanted.items()}
    wanting = Counter(digests.values())
    in_window = [g for g in listed if g.created_at is None or g.created_at >= start]
    unreadable = [g.id for g in in_window if not _recognisable(g)]
    matches: dict[str, list[Generation]] = {}
    stored_otherwise = []
    for generation in in_window:
        if generation.id in known or not _recognisable(generation):
            continue
        digest = fingerprint(generation.model_name or "", _input_of(generation))
        if digest in wanting:
            matches.setdefault(digest, []).append(generation)
        elif any(_could_be(generation, made) for made in wanted.values()):
            stored_otherwise.append(generation.id)
    if crowded := [g.id for digest, found in matches.items() if len(found) > wanting[digest] for g in found]:
        raise lost_create_unknown(what, start, f"more than one matches ({', '.join(crowded)})")
    if not complete:
        raise lost_create_unknown(what, start, f"more than the {len(listed)} listed were made since then")
    if unreadable:
        raise lost_create_unknown(
            what, start, f"the list leaves out what {_shown(unreadable)} were made from"
        )
    if stored_otherwise:
        reason = (
            f"{_shown(stored_otherwise)} holds the input sent, stored otherwise (more fields, or values "
            "written differently): the API may store its input so"
        )
        raise lost_create_unknown(what, start, reason)
    return {key: matches[digest].pop(0) if matches.get(digest) else None for key, digest in digests.items()}


def search_lost(
    hook: CreatifyHook,
    wanted: Mapping[str, Made],
    since: float,
    known: Collection[str],
    what: str,
    log: Log,
    *,
    searches: int = LOST_SEARCHES,
) -> tuple[dict[str, Generation], CreatifyCreateUncertainError | None]:
    """Search the account's list up to ``searches`` times for what lost creates made.

    A slow create may be listed late, so the list is read again, :data:`LOST_SEARCH_INTERVAL` apart,
    while an item is not found. The last search decides for the items not found.

    :param wanted: each item's key and what it was created from: its model and its input.
    :param known: ids already held (by other items or tasks): not any item's.
    :param what: the model or models, for the error message.
    :returns: the generations found, by key; and the doubt of the last search, ``None`` when it proved
        that the items not found were never made.
    """
    found: dict[str, Generation] = {}
    doubt: CreatifyCreateUncertainError | None = None
    for attempt in range(searches):
        if attempt:
            log.warning("%s Looking again in %.0f s.", doubt or "Not listed yet.", LOST_SEARCH_INTERVAL)
            time.sleep(LOST_SEARCH_INTERVAL)
        left = {key: made for key, made in wanted.items() if key not in found}
        try:
            listed = find_lost_many(hook, left, since, {*known, *(g.id for g in found.values())}, what)
        except CreatifyCreateUncertainError as err:
            doubt = err
            continue
        doubt = None
        found.update({key: generation for key, generation in listed.items() if generation is not None})
        if len(found) == len(wanted):
            break
    return found, doubt


def _could_be(generation: Generation, made: Made) -> bool:
    """Whether a listed generation could be this item's, its input stored otherwise than it was sent."""
    model_name, input_params = made
    return generation.model_name == model_name and _holds(_input_of(generation), input_params)


def _holds(listed: Any, sent: Any) -> bool:
    """Whether a listed value holds a sent one: every field sent (more allowed), each value the same up to
    case, surrounding spaces, or a number written as text."""
    if isinstance(sent, dict):
        return isinstance(listed, dict) and all(k in listed and _holds(listed[k], v) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(listed, list) and len(listed) == len(sent) and all(map(_holds, listed, sent))
    return _plain(listed) == _plain(sent)


def _plain(value: Any) -> str | float:
    """A value's text, trimmed and case-folded, or its number."""
    text = str(value).strip().casefold()
    try:
        return float(text)
    except ValueError:
        return text


def _shown(ids: list[str]) -> str:
    """At most five ids, for a message."""
    return ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")


def _recognisable(generation: Generation) -> bool:
    """Whether a listed generation says what it was made from (model, ``input_params``) and when."""
    return (
        bool(generation.model_name)
        and _input_of(generation) is not None
        and generation.created_at is not None
    )


def _input_of(generation: Generation) -> dict[str, Any] | None:
    """A listed generation's ``input_params``: a JSON object, or JSON text of one; else ``None``."""
    value = generation.raw.get("input_params")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def lost_create_unknown(model_name: str, start: float, reason: str) -> CreatifyCreateUncertainError:
    """The error for a create whose answer was lost when the account's list cannot say what became of it.

    :param model_name: the model (or a description of the models) of the create.
    """
    when = datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds")
    return CreatifyCreateUncertainError(
        f"A create of Creatify model {model_name!r} for this task may have reached Creatify without its "
        f"answer, and the account's generations since {when} cannot say whether it did: {reason}. Not "
        "creating again, to never bill twice, and not guessing which to pay for. Look in Creatify (the "
        f"dashboard, or GET /api/asset_generator/ for generations of this model since {when}). If one is "
        "this task's, wait on it with CreatifyGenerationSensor(generation_id=...). To create a new one "
        "deliberately, clear the task with resume_on_retry=False (or with other input_params).",
    )
