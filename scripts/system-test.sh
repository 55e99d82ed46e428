#!/usr/bin/env bash
# The production-like system test (tests/system/): PostgreSQL and Redis from Debian's packages (installed
# with apt-get where missing: run as root), Airflow 3.3.2 with the CeleryExecutor, two triggerers, real
# faults. Its own venv (.venv/system-3.3.2): the Celery provider and the PostgreSQL drivers it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=".venv/system-3.3.2"
[ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install -q -U pip
# celery<5.7: 5.7.0 breaks the CeleryExecutor of apache-airflow-providers-celery 3.26; asyncpg: Airflow 3.3's
# async metadata connection on PostgreSQL
"$venv/bin/python" -m pip install -q -e ".[test]" "apache-airflow==3.3.2" apache-airflow-providers-celery \
  "celery<5.7" redis psycopg2-binary asyncpg
echo "== system test on Airflow 3.3.2 (CeleryExecutor, PostgreSQL, Redis, two triggerers)"
"$venv/bin/python" -m pytest -q -p no:cacheprovider -s tests/system "$@"
