"""Benchmarks of the Creatify provider: each module runs alone (``python -m benchmarks.<name>``)."""
