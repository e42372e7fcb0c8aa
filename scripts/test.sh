#!/usr/bin/env bash
# Sets up (scripts/setup.sh), lints (ruff), type-checks (mypy) and runs the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
export MODELLAB_REQUIRE_ALL=1  # setup.sh installed everything: a skip for a missing dependency fails (tests/conftest.py)
.venv/bin/ruff check modellab tests benchmarks
.venv/bin/ruff format --check modellab tests benchmarks
.venv/bin/mypy  # the package, as configured in pyproject.toml [tool.mypy]
.venv/bin/python -m pytest -q "$@"
