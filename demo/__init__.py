"""The demo room: everything only `plasmatwin demo`, `plasmatwin pki`, the tests and the benchmarks use.

The synthetic plant and population, the demo CA, the plant simulator with its in-process bridge and
the /demo endpoints. No product package imports it (an import-linter contract in pyproject.toml);
api/cli.py reaches `demo.cli` only inside the commands that are the demo's.
"""
