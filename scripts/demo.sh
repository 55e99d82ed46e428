#!/usr/bin/env bash
# Set everything up (a venv under .venv/demo) and run an example DAG end to end against the local sandbox.
# Usage: bash scripts/demo.sh [DAG_ID] [--sync]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/demo
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q -U pip
"$venv/bin/python" -m pip install -q -e ".[sandbox]"
exec "$venv/bin/python" scripts/demo.py "$@"
