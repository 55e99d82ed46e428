"""Development tools: helpers for running real Airflow processes and the sandbox as a process.

Shared by the benchmarks (``benchmarks/``) and the deployment test (``tests/deployment/``); part of this
repository only, not of the wheel (``scripts/check_dist.py`` checks that).
"""
