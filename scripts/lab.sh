#!/usr/bin/env bash
# The main job: set up, then run the DVC pipeline (dvc.yaml, generated from conf/): build the
# embedded datasets, run the default sweeps of conf/lab/default.yaml, build the leaderboard site.
# Offline, no DVC remote needed; a second run does nothing ("Data and pipelines are up to date").
# With arguments (e.g. `--only asr results_dir=/tmp/r`) it runs `python -m modellab lab` directly,
# as it does outside a git checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
if [ $# -eq 0 ] && [ -x .venv/bin/dvc ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  export PATH="$PWD/.venv/bin:$PATH"   # stage commands run `python` from the venv
  .venv/bin/python -m modellab.pipeline write   # dvc.yaml follows conf/ (commit it if it changed)
  start=$SECONDS
  .venv/bin/dvc repro
  seconds=$((SECONDS - start))
  echo "[lab] pipeline done in ${seconds}s; site: site/index.html"
  .venv/bin/python -m modellab.pipeline.timing "$seconds"   # results/lab/main_command.json (README's figure)
else
  .venv/bin/python -m modellab lab "$@"
fi
