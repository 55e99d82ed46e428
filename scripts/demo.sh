#!/usr/bin/env bash
# Set everything up (a venv under .venv/demo) and run an example DAG end to end against the local sandbox.
# Usage: bash scripts/demo.sh [DAG_ID] [--sync]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
venv=.venv/demo
version=3.3.2  # the newest Airflow tested, from its lock file
constraints=$(constraints_for "$version")
fresh_venv "$venv" keep
"$venv/bin/python" -m pip install -q -U -c "$constraints" pip setuptools
PIP_CONSTRAINT=$constraints "$venv/bin/python" -m pip install -q -e ".[sandbox]" \
  "apache-airflow==$version"
exec "$venv/bin/python" scripts/demo.py "$@"
