#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, the wheel smoke test, then pytest on the
# oldest and the newest Airflow this package admits (one venv each under .venv/). Needs python3 (3.10-3.13)
# and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
AIRFLOW_VERSIONS=${AIRFLOW_VERSIONS:-"3.1.1 3.3.2"}

for version in $AIRFLOW_VERSIONS; do
  venv_with_airflow ".venv/airflow-$version" "$version"
done

# tests/ui drives Debian's headless Chromium and its driver (a Debian package, not a downloaded browser);
# installed here where missing and possible (root, apt), else that test skips itself
if ! command -v chromedriver >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== apt-get install chromium chromium-driver (for tests/ui)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

newest=".venv/airflow-${AIRFLOW_VERSIONS##* }"
"$newest/bin/ruff" check .
"$newest/bin/ruff" format --check .
"$newest/bin/mypy"
# The package as users get it: sdist and wheel built and checked, the WHEEL (not this checkout) installed
# with Airflow in a venv of its own, and an example DAG run from it against the sandbox
WHEEL_SMOKE_AIRFLOW=${AIRFLOW_VERSIONS##* } bash scripts/wheel-smoke.sh

# Two test processes (pytest-xdist), each with its own AIRFLOW_HOME: the suite mostly waits on loopback HTTP
# and timers, so two halve its time on a 2-core machine. A fixed count: in a container, the CPU count
# pytest-xdist detects may be the host's.
for version in $AIRFLOW_VERSIONS; do
  echo "== pytest on Airflow $version"
  ".venv/airflow-$version/bin/python" -m pytest -q -p no:cacheprovider -n 2 "$@"
done
# tests/deployment skips itself above (no Celery there): it runs in its own venv, with PostgreSQL and Redis
bash scripts/deployment-test.sh
