#!/usr/bin/env bash
# The production-like deployment test (tests/deployment/): PostgreSQL and Redis from Debian's packages
# (installed with apt-get where missing: run as root), Airflow with the CeleryExecutor, two triggerers,
# real faults (processes SIGKILLed). One venv per Airflow version (.venv/deployment-<version>): the Celery
# provider and the PostgreSQL drivers it needs. DEPLOYMENT_AIRFLOW_VERSIONS picks the versions (default:
# 3.1.1 and 3.3.2, what each guarantees).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
DEPLOYMENT_AIRFLOW_VERSIONS=${DEPLOYMENT_AIRFLOW_VERSIONS:-"3.1.1 3.3.2"}

for version in $DEPLOYMENT_AIRFLOW_VERSIONS; do
  venv=".venv/deployment-$version"
  venv_with_airflow "$venv" "$version" "${DEPLOYMENT_REQUIREMENTS[@]}"
  echo "== deployment test on Airflow $version (CeleryExecutor, PostgreSQL, Redis, two triggerers)"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -s tests/deployment "$@"
done
