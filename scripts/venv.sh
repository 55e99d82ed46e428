# Sourced by scripts/test.sh and scripts/deployment-test.sh: one venv per Airflow version.
# venv_with_airflow VENV VERSION [REQUIREMENT...]: VENV (created with $PYTHON where missing) holds this package
# with its test extra, apache-airflow==VERSION, constraints/airflow-VERSION.txt if there is one, and the rest.
venv_with_airflow() {
  local venv=$1 version=$2
  shift 2
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q -U pip
  local constraints=()
  [ -f "constraints/airflow-$version.txt" ] && constraints=(-c "constraints/airflow-$version.txt")
  "$venv/bin/python" -m pip install -q -e ".[test]" "apache-airflow==$version" "$@" "${constraints[@]}"
}
