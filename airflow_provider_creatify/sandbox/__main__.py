"""``creatify-sandbox`` / ``python -m airflow_provider_creatify.sandbox``: serve the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    from airflow_provider_creatify.sandbox.settings import SandboxSettings

    d = SandboxSettings()
    p = argparse.ArgumentParser(prog="creatify-sandbox", description="Emulated Creatify Asset Generator API.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to bind, 0 = any free port (default: 8765)")
    p.add_argument("--generation-seconds", type=float, default=d.generation_seconds)
    p.add_argument("--api-id", default=d.api_id)
    p.add_argument("--api-key", default=d.api_key)
    p.add_argument("--fail-rate", type=float, default=d.fail_rate)
    p.add_argument("--webhook-repeat", type=int, default=d.webhook_repeat)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (with --ssl-keyfile)")
    p.add_argument("--ssl-keyfile", help="the certificate's PEM private key")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, print how to reach it, block until SIGINT/SIGTERM."""
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings

    args = build_parser().parse_args(argv)
    settings = SandboxSettings(
        api_id=args.api_id,
        api_key=args.api_key,
        generation_seconds=args.generation_seconds,
        fail_rate=args.fail_rate,
        webhook_repeat=args.webhook_repeat,
        seed=args.seed,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sandbox = CreatifySandbox(
        settings, host=args.host, port=args.port, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile
    )
    with sandbox:
        print(f"Creatify sandbox listening on {sandbox.base_url}", flush=True)
        print(f"export AIRFLOW_CONN_CREATIFY_DEFAULT='{sandbox.connection_json()}'", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    print("Creatify sandbox stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
