#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
.venv/bin/ruff check modellab tests benchmarks
.venv/bin/ruff format --check modellab tests benchmarks
.venv/bin/python -m pytest -q "$@"
