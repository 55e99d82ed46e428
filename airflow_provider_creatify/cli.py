"""``creatify-models``: list Creatify models and the ``input_params`` each one takes; the credit balance.

Usage::

    creatify-models                          # every model, through connection creatify_default
    creatify-models nano-banana veo3.1/fast  # only these
    creatify-models --json                   # CreatifyHook.describe_models() as JSON
    creatify-models --sandbox                # the embedded sandbox's catalogue: no credentials, no network
    creatify-models --credits                # the connection's remaining credits (with --sandbox too)

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

DEFAULT_CONN_ID = "creatify_default"
COLUMNS = ("FIELD", "REQUIRED", "TYPE", "DEFAULT", "ENUM")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="creatify-models",
        description="List Creatify models, their generation types and the input_params fields they take.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="only these models (default: all)")
    p.add_argument(
        "--conn-id", default=DEFAULT_CONN_ID, help=f"Airflow connection id (default: {DEFAULT_CONN_ID})"
    )
    p.add_argument("--json", action="store_true", help="print the models (or the balance) as JSON")
    p.add_argument(
        "--credits", action="store_true", help="print the account's remaining credits instead of the models"
    )
    p.add_argument(
        "--sandbox", action="store_true", help="ask the embedded Creatify sandbox instead of the real API"
    )
    return p


def _cell(value: Any) -> str:
    """A value as shown in the table: strings as they are, anything else as JSON, nothing as ``-``."""
    if value is None or value == "":
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


def format_models(models: list[dict[str, Any]]) -> str:
    """Plain text: per model a ``model_name (generation_type)`` line and an aligned table of its fields."""
    blocks = []
    for model in models:
        rows = [
            (
                f["name"],
                "yes" if f["required"] else "no",
                _cell(f["type"]),
                _cell(f["default"]),
                ", ".join(_cell(v) for v in f["enum"]) if f["enum"] else "-",
            )
            for f in model["fields"]
        ]
        lines = [f"{model['model_name']} ({model['generation_type'] or 'unknown generation type'})"]
        if rows:
            table = [COLUMNS, *rows]
            widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
            lines += [
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in table
            ]
        else:
            lines.append("  (no input fields)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@contextmanager
def sandbox_connection(conn_id: str) -> Iterator[None]:
    """Start the embedded sandbox and point connection ``conn_id`` (its env var) at it for the block."""
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings

    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    previous = os.environ.get(var)
    with CreatifySandbox(SandboxSettings()) as sandbox:
        os.environ[var] = sandbox.connection_json()
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = previous


def print_credits(remaining: float, *, as_json: bool) -> int:
    """Print the balance (``{"remaining_credits": ...}`` with ``as_json``); 0."""
    from airflow_provider_creatify.generation import format_credits

    print(json.dumps({"remaining_credits": remaining}) if as_json else f"{format_credits(remaining)} credits")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Print the models; 1 on a provider error (message on stderr) or when a named model does not exist.

    A reader that stops early (``creatify-models | head``) ends the command quietly, as ``ls`` does.
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point stdout at nothing first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from airflow_provider_creatify.exceptions import CreatifyError
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    try:
        with sandbox_connection(args.conn_id) if args.sandbox else nullcontext():
            hook = CreatifyHook(args.conn_id)
            if args.credits:
                return print_credits(hook.remaining_credits(), as_json=args.json)
            models = hook.describe_models(args.models or None)
    except CreatifyError as err:
        print(f"creatify-models: {err}", file=sys.stderr)
        return 1
    print(json.dumps(models, indent=2) if args.json else format_models(models))
    missing = [name for name in dict.fromkeys(args.models) if name not in {m["model_name"] for m in models}]
    if missing:
        print(f"creatify-models: no such model: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
