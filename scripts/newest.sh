#!/usr/bin/env bash
# The newest releases, tried: not the CI gate (that installs from the locks), but a breaking release seen
# the day it appears. For each Airflow version (AIRFLOW_VERSIONS, default "3.1.1 3.3.2"): a fresh venv
# resolved as scripts/lock.sh resolves it (the newest of everything but for constraints/caps-<version>.txt),
# the packages newer than its lock, the unit suite, then the wheel smoke. Ends with a report; exit status 1
# when anything failed. docs/development.md says what to do then.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
export CREATIFY_NEWEST=1
AIRFLOW_VERSIONS=${AIRFLOW_VERSIONS:-"3.1.1 3.3.2"}
report=()

for version in $AIRFLOW_VERSIONS; do
  venv=".venv/newest-$version"
  lock="constraints/airflow-$version-py$(python_minor).txt"
  echo "== the newest releases with Airflow $version"
  if ! venv_with_airflow "$venv" "$version"; then
    report+=("Airflow $version: the install FAILED")
    continue
  fi
  newer=$(comm -13 <(grep -v '^#' "$lock" 2>/dev/null | sort) \
    <("$venv/bin/python" -m pip freeze --all --exclude-editable | grep -v '^airflow-provider-creatify' | sort))
  echo "newer than $lock:"
  echo "${newer:-  (none)}" | sed 's/^/  /'
  if "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit; then
    report+=("Airflow $version: unit suite passed ($(echo "$newer" | grep -c .) packages newer than the lock)")
  else
    report+=("Airflow $version: unit suite FAILED (packages newer than the lock above)")
  fi
  if WHEEL_SMOKE_AIRFLOW=$version bash scripts/wheel-smoke.sh; then
    report+=("Airflow $version: wheel smoke passed")
  else
    report+=("Airflow $version: wheel smoke FAILED")
  fi
done

echo "== newest releases, $(date -u +%F):"
printf '  %s\n' "${report[@]}"
! printf '%s\n' "${report[@]}" | grep -q FAILED
