#!/usr/bin/env bash
# Build the sdist and the wheel (python -m build: the wheel is built from the sdist), check them (twine check
# --strict, scripts/check_dist.py), install the WHEEL (not the checkout) into a clean venv with Airflow and
# its [sandbox] extra, and run scripts/wheel_smoke.py there from a temporary folder: provider info, plugin,
# console scripts, package data, one example DAG end to end against the sandbox.
# Venvs: .venv/release (build, twine) and .venv/wheel-smoke-<version>, reused; the wheel is always rebuilt
# and reinstalled. WHEEL_SMOKE_AIRFLOW picks the Airflow version (default 3.3.2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
version=${WHEEL_SMOKE_AIRFLOW:-3.3.2}
suffix=""
if [ "${CREATIFY_NEWEST:-0}" = 1 ]; then suffix=-newest; fi  # scripts/newest.sh: venvs of their own
tools=".venv/release$suffix"
venv=".venv/wheel-smoke-$version$suffix"
work=$(mktemp -d -t creatify-wheel-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== wheel smoke: build, check, install the wheel with Airflow $version, run a DAG from it"
constraints=$(constraints_for "$version")
fresh_venv "$tools" keep
"$tools/bin/python" -m pip install -q -U -c "$constraints" "${RELEASE_TOOLS[@]}" pip
# PIP_CONSTRAINT: the build's isolated environment takes the locked setuptools
PIP_CONSTRAINT=$constraints "$tools/bin/python" -m build -q -o "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
COLUMNS=200 "$tools/bin/twine" --no-color check --strict "$work"/dist/*
"$tools/bin/python" scripts/check_dist.py "$work/dist"

wheel=$(echo "$work"/dist/*.whl)
fresh_venv "$venv" keep
"$venv/bin/python" -m pip install -q -U -c "$constraints" pip setuptools
# Airflow and the dependencies the new wheel names (a no-op once they are there); pip keeps an installed
# copy of the same version, so the wheel itself is then reinstalled
"$venv/bin/python" -m pip install -q -c "$constraints" "$wheel[sandbox]" "apache-airflow==$version"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$wheel"

root=$PWD
cp scripts/wheel_smoke.py "$work/"
cd "$work"
# -I: neither the script's folder nor PYTHONPATH goes on sys.path; run here, away from the checkout; at most
# 10 minutes (it takes well under one)
if ! env -u PYTHONPATH timeout 600 "$root/$venv/bin/python" -I wheel_smoke.py --checkout "$root" \
  --dag-file "$root/example_dags/example_creatify_image_to_video.py" --work "$work/run" >smoke.log 2>&1; then
  cat smoke.log
  echo "wheel smoke FAILED (its log above)"
  exit 1
fi
grep -E '^(ok |wheel smoke)' smoke.log
