#!/usr/bin/env bash
# The main job: set up, run the default sweep on the embedded data, build the leaderboard site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
.venv/bin/python -m modellab.lab "$@"
