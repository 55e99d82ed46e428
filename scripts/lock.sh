#!/usr/bin/env bash
# Write the lock files the test, demo, wheel-smoke and deployment venvs install from, and prove them.
# For each Airflow version (AIRFLOW_VERSIONS, default "3.1.1 3.3.2") and each Python (PYTHONS, default
# python3): resolve in a fresh venv the newest releases of everything those venvs install, but for the
# known breaks in constraints/caps-<version>.txt, and freeze it into constraints/airflow-<version>-py<X.Y>.txt.
# Then run scripts/test.sh on each Python with the new locks; if it fails, the previous locks come back.
# When to run it: docs/development.md ("Lock files").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
AIRFLOW_VERSIONS=${AIRFLOW_VERSIONS:-"3.1.1 3.3.2"}
PYTHONS=${PYTHONS:-python3}
work=$(mktemp -d -t creatify-lock-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/previous"
cp constraints/airflow-*-py*.txt "$work/previous/" 2>/dev/null || true
commit=$(git rev-parse --short HEAD)

for PYTHON in $PYTHONS; do
  export PYTHON
  for version in $AIRFLOW_VERSIONS; do
    lock="constraints/airflow-$version-py$(python_minor).txt"
    echo "== resolve Airflow $version on Python $(python_minor) -> $lock"
    fresh_venv "$work/venv"
    CREATIFY_NEWEST=1 venv_with_airflow "$work/venv" "$version" "${DEPLOYMENT_REQUIREMENTS[@]}" \
      "${RELEASE_TOOLS[@]}"
    {
      echo "# Every package of the test, demo, wheel-smoke and deployment venvs: Airflow $version, Python"
      echo "# $(python_minor), $(uname -s) $(uname -m). Written by scripts/lock.sh on $(date -u +%F) at $commit."
      "$work/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v '^airflow-provider-creatify'
    } >"$lock"
    echo "   $(grep -vc '^#' "$lock") packages"
  done
done

for PYTHON in $PYTHONS; do
  echo "== the suite on Python $(python_minor) with the new locks"
  if ! PYTHON=$PYTHON AIRFLOW_VERSIONS=$AIRFLOW_VERSIONS bash scripts/test.sh; then
    rejected=$(mktemp -d -t creatify-rejected-locks-XXXXXX)
    mv constraints/airflow-*-py*.txt "$rejected/"
    cp "$work"/previous/* constraints/ 2>/dev/null || true
    echo "lock.sh: the suite failed with the new locks (above; kept in $rejected); the previous are back"
    exit 1
  fi
done
git status --short constraints/
