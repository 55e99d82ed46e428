"""``creatify-sandbox`` / ``python -m airflow_provider_creatify.sandbox``: serve the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from airflow_provider_creatify.sandbox import CreatifySandbox, RequestRecord
    from airflow_provider_creatify.sandbox.settings import SandboxSettings


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    from airflow_provider_creatify.sandbox.settings import SandboxSettings

    d = SandboxSettings()
    p = argparse.ArgumentParser(prog="creatify-sandbox", description="Emulated Creatify Asset Generator API.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to bind, 0 = any free port (default: 8765)")
    p.add_argument(
        "--time-scale",
        type=float,
        default=d.time_scale,
        help=f"each model's typical time at Creatify times this; 1 = real pacing (default: {d.time_scale:g})",
    )
    p.add_argument(
        "--generation-seconds",
        type=float,
        default=d.generation_seconds,
        help="every generation takes this long, whatever the model (overrides --time-scale)",
    )
    p.add_argument(
        "--credits", type=float, default=d.credits, help=f"starting balance (default: {d.credits:g})"
    )
    p.add_argument("--api-id", default=d.api_id)
    p.add_argument("--api-key", default=d.api_key)
    p.add_argument(
        "--fail-rate",
        type=float,
        default=d.fail_rate,
        help="share of generations that end 'failed' (refunded) instead of done (default: 0)",
    )
    p.add_argument(
        "--lose-create-answers",
        type=int,
        default=0,
        help="the first N creates are made, then their answers are lost (the connection drops)",
    )
    p.add_argument(
        "--read-fail-rate",
        type=float,
        default=0.0,
        help="share of status reads (one generation, or a list) answered 503 instead (default: 0)",
    )
    p.add_argument(
        "--create-rate-limit",
        type=int,
        default=d.create_rate_limit,
        help="creates allowed per second; those above are answered 429 with Retry-After (default: no limit)",
    )
    p.add_argument("--webhook-repeat", type=int, default=d.webhook_repeat)
    p.add_argument("--seed", type=int, default=None)
    tls = p.add_mutually_exclusive_group()
    tls.add_argument(
        "--self-signed-tls",
        action="store_true",
        help="serve HTTPS with a throw-away self-signed certificate (deleted at exit); prints its path",
    )
    tls.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (with --ssl-keyfile)")
    p.add_argument("--ssl-keyfile", help="the certificate's PEM private key")
    p.add_argument(
        "--counts-file",
        type=Path,
        help='on exit (and on SIGUSR1), write {"post_create": N, "requests": N, "generations": N, ...} as '
        "JSON to this file, with the status reads (reads_one, reads_list, ids_listed, listings) and, with "
        '--create-rate-limit, "create_throttled": N (the creates answered 429)',
    )
    add_dialect_arguments(p)
    return p


def add_dialect_arguments(p: argparse.ArgumentParser) -> None:
    """The switches of the API's other shapes (the dialect fields of ``SandboxSettings``)."""
    g = p.add_argument_group("dialects", "other shapes the real API may take (see SandboxSettings)")
    g.add_argument(
        "--list-omits",
        action="append",
        default=[],
        metavar="FIELD",
        help="the list leaves this field out of each generation (repeat, or a comma list)",
    )
    g.add_argument("--list-pages", action="store_true", help="the list answers Django REST framework pages")
    g.add_argument("--list-page-size", type=int, metavar="N", help="the list answers pages of N, with next")
    g.add_argument("--list-ignores-ids", action="store_true", help="the list answers the newest, ids or not")
    g.add_argument(
        "--list-status",
        type=int,
        metavar="N",
        help="the list answers this status instead: 404 = absent, 5xx = failing (502 as an HTML page)",
    )
    g.add_argument("--schema-page-size", type=int, metavar="N", help="the schemas come in pages of N models")
    g.add_argument("--schemas-as-text", action="store_true", help="each input_params_schema is JSON text")
    g.add_argument("--create-answers-id-only", action="store_true", help='a create answers only {"id": ...}')
    g.add_argument("--assets-as-strings", action="store_true", help="assets are a list of their URLs")
    g.add_argument("--stores-defaults", action="store_true", help="input_params come with the defaults added")
    g.add_argument(
        "--forbidden-reason",
        metavar="TEXT",
        help='every create is refused 403 with {"detail": TEXT}, as a plan may refuse a model',
    )


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """The sandbox's settings from the parsed command line: each switch named as a setting sets it.

    :param args: what :func:`build_parser` parsed.
    """
    from airflow_provider_creatify.sandbox.settings import SandboxSettings

    names = {field.name for field in dataclasses.fields(SandboxSettings)}
    given = {name: value for name, value in vars(args).items() if name in names}
    given["list_omits"] = tuple(
        field.strip() for value in args.list_omits for field in value.split(",") if field.strip()
    )
    return SandboxSettings(**given)


def add_cli_faults(sandbox: CreatifySandbox, read_fail_rate: float, lose_create_answers: int) -> None:
    """Faults for a sandbox run as a process: status reads answered 503 at ``read_fail_rate`` (``GET`` of
    one generation, or of a list), and the answers of the first ``lose_create_answers`` creates lost."""
    from airflow_provider_creatify.endpoints import GENERATION_PATH, GENERATIONS_PATH
    from airflow_provider_creatify.sandbox import FaultRule

    if read_fail_rate > 0:
        for path in (GENERATION_PATH, GENERATIONS_PATH):  # one generation; a list
            sandbox.add_fault(FaultRule(path=path, method="GET", status=503, rate=read_fail_rate))
    if lose_create_answers > 0:
        lost = FaultRule(
            path=GENERATIONS_PATH, method="POST", drop=True, after_processing=True, count=lose_create_answers
        )
        sandbox.add_fault(lost)


def write_counts(path: Path, sandbox: CreatifySandbox) -> None:
    """Write the sandbox's request counts as JSON, atomically (a temporary file, then a rename).

    :param path: the JSON file to (re)place.
    :param sandbox: the sandbox whose request log and generations are counted.
    """
    from airflow_provider_creatify.endpoints import GENERATIONS_PATH

    counts = {
        "post_create": sandbox.count("POST", GENERATIONS_PATH),
        "requests": sandbox.count(),
        "generations": len(sandbox.generations),
        **status_reads(sandbox.requests),
    }
    if sandbox.settings.create_rate_limit is not None:
        counts["create_throttled"] = sandbox.count("POST", GENERATIONS_PATH, status=429)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(counts))
    tmp.replace(path)


def status_reads(records: Iterable[RequestRecord]) -> dict[str, int]:
    """The status reads among ``records``: ``GET`` of one generation, and of a list by ``ids``.

    ``reads_one``: reads of one generation. ``reads_list``: list reads with ``ids``; ``ids_listed``: the
    ids they asked for. ``listings``: list reads without ``ids`` (the account's newest, as a search for a
    lost create reads them).
    """
    from airflow_provider_creatify.endpoints import GENERATION_PATH, GENERATIONS_PATH
    from airflow_provider_creatify.sandbox.faults import template_matches

    found = dict.fromkeys(("reads_one", "reads_list", "ids_listed", "listings"), 0)
    for record in records:
        if record.method != "GET":
            continue
        if record.path == GENERATIONS_PATH:
            asked = [i for value in parse_qs(record.query).get("ids", []) for i in value.split(",") if i]
            found["reads_list" if asked else "listings"] += 1
            found["ids_listed"] += len(asked)
        elif template_matches(GENERATION_PATH, record.path):
            found["reads_one"] += 1
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, print how to reach it, block until SIGINT/SIGTERM."""
    from airflow_provider_creatify.sandbox import CreatifySandbox

    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    stop, dump = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        (dump if signum == signal.SIGUSR1 else stop).set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if args.counts_file:
        signal.signal(signal.SIGUSR1, on_signal)
    with contextlib.ExitStack() as stack:
        certfile, keyfile = args.ssl_certfile, args.ssl_keyfile
        if args.self_signed_tls:
            from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="creatify-sandbox-tls-"))
            cert, key = write_self_signed_certificate(Path(directory), args.host)
            certfile, keyfile = str(cert), str(key)
        sandbox = CreatifySandbox(
            settings, host=args.host, port=args.port, ssl_certfile=certfile, ssl_keyfile=keyfile
        )
        stack.enter_context(sandbox)
        add_cli_faults(sandbox, args.read_fail_rate, args.lose_create_answers)
        print(f"Creatify sandbox listening on {sandbox.base_url}", flush=True)
        print(f"export AIRFLOW_CONN_CREATIFY_DEFAULT='{sandbox.connection_json()}'", flush=True)
        # its assets are served from this loopback address, which asset copies refuse by default
        print("export AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS=True", flush=True)
        if args.self_signed_tls:
            ca = shlex.quote(certfile)
            print(f"CA file: {certfile}\nexport SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.2):
            if dump.is_set():
                dump.clear()
                write_counts(args.counts_file, sandbox)
        if args.counts_file:
            write_counts(args.counts_file, sandbox)
    print("Creatify sandbox stopped.", file=sys.stderr, flush=True)
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    """:func:`main`, with a missing dependency said in one line (exit status 2) instead of a traceback."""
    try:
        return main(argv)
    except ImportError as exc:
        print(f"creatify-sandbox: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
