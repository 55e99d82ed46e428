# Sourced by the scripts that make venvs: each installs from a committed lock file.
# constraints/airflow-<version>-py<python>.txt pins every package for one Airflow version on one Python
# (scripts/lock.sh writes them). With CREATIFY_NEWEST=1 (scripts/newest.sh) the lock is left out and only
# constraints/caps-<version>.txt applies: the newest releases, but for the breaks already known.

# python_minor: the X.Y of $PYTHON (default python3)
python_minor() {
  "${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# constraints_for VERSION: the constraints file for Airflow VERSION on this Python (an absolute path, for
# pip's -c and PIP_CONSTRAINT); fails where there is no lock
constraints_for() {
  local lock
  if [ "${CREATIFY_NEWEST:-0}" = 1 ]; then
    echo "$PWD/constraints/caps-$1.txt"
    return 0
  fi
  lock="constraints/airflow-$1-py$(python_minor).txt"
  if [ ! -f "$lock" ]; then
    echo "no lock file $lock: use a Python it has locks for (ls constraints/; e.g. PYTHON=python3.11)," \
      "or write and test this one's: PYTHONS=${PYTHON:-python3} bash scripts/lock.sh" >&2
    return 1
  fi
  echo "$PWD/$lock"
}

# What the deployment test adds (scripts/deployment-test.sh). celery<5.7: 5.7.0 breaks the CeleryExecutor
# of apache-airflow-providers-celery 3.26 (which also runs Airflow 3.1); asyncpg: every Airflow 3
# component opens an async metadata connection (3.1 as well).
DEPLOYMENT_REQUIREMENTS=(apache-airflow-providers-celery "celery<5.7" redis psycopg2-binary asyncpg)
# What builds and checks the sdist and the wheel (scripts/wheel-smoke.sh); setuptools, pinned, builds them
RELEASE_TOOLS=(build twine setuptools)

# fresh_venv VENV [keep]: a venv of $PYTHON at VENV; with keep, one already there of that Python stays
# (never for the newest releases: a venv of yesterday would hide today's)
fresh_venv() {
  local venv=$1
  if [ "${2:-}" = keep ] && [ "${CREATIFY_NEWEST:-0}" != 1 ] && [ -x "$venv/bin/python" ] &&
    [ "$(PYTHON=$venv/bin/python python_minor)" = "$(python_minor)" ]; then
    return 0
  fi
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
}

# venv_with_airflow VENV VERSION [REQUIREMENT...]: VENV (created with $PYTHON where missing) holds this
# package with its test extra, apache-airflow==VERSION and REQUIREMENTs, at the versions of the lock.
venv_with_airflow() {
  local venv=$1 version=$2 constraints
  shift 2
  constraints=$(constraints_for "$version")
  fresh_venv "$venv" keep
  "$venv/bin/python" -m pip install -q -U -c "$constraints" pip setuptools
  # PIP_CONSTRAINT: the editable install's build environment takes the locked setuptools too
  PIP_CONSTRAINT=$constraints "$venv/bin/python" -m pip install -q -e ".[test]" \
    "apache-airflow==$version" "$@"
}
