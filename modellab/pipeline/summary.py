"""A sweep stage: run one sweep of the lab config, then record which run answers each of its cells.

The runs themselves land in ``results/`` as always (a cell whose inputs did not change reuses its
run: the runner's cell cache). The stage's output is ``results/lab/<sweep>.json``, a DVC metrics
file: per cell, the run id, its status and its metrics, so ``dvc metrics show``, ``dvc metrics
diff`` and ``dvc exp show`` compare sweeps and experiments.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from modellab.config import REPO_ROOT
from modellab.pipeline.stages import LAB_CONFIG, PipelineError, expand_sweep, lab_sweeps, summary_path

__all__ = ["cell_label", "run_sweep", "summarise"]

logger = logging.getLogger(__name__)

RESULTS = "results"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MODELLAB_DATA_DIR", "MODELLAB_RESULTS_DIR")}
    env.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def cell_label(model: str, dataset: str, preprocessing: str, device: str) -> str:
    """``model/dataset`` plus preprocessing and device when they are not the defaults."""
    parts = [model, dataset]
    if preprocessing != "none":
        parts.append(preprocessing)
    if device != "cpu":
        parts.append(device)
    return "/".join(parts)


def _cell_keys(overrides: list[str], results: str) -> list[tuple[list[str], str, str]]:
    """(cell overrides, label, cell key) of every cell, keyed exactly as the runner keys them."""
    from modellab.app import build_cell
    from modellab.config.registry import compose_config
    from modellab.run.runner import cell_key

    out = []
    saved = {k: os.environ.pop(k) for k in ("MODELLAB_DATA_DIR", "MODELLAB_RESULTS_DIR") if k in os.environ}
    try:
        for cell_overrides in expand_sweep(overrides):
            cell = build_cell(compose_config([*cell_overrides, f"results_dir={results}"]))
            ds = cell.dataset
            key = cell_key(cell.model, cell.task, ds.content_hash(), ds.name, ds.limit, cell.device, cell.preprocessing)
            label = cell_label(cell.model.name, ds.name, cell.preprocessing.name, cell.device.name)
            out.append((cell_overrides, label, key))
    finally:
        os.environ.update(saved)
    return out


def summarise(name: str, overrides: list[str], results: str = RESULTS) -> dict[str, Any]:
    """The latest run of every cell of the sweep (``status: missing`` for a cell without one)."""
    from modellab.results.views import connect

    cells = _cell_keys(overrides, results)
    con = connect(results)
    runs: dict[str, dict[str, Any]] = {}
    keys = [key for _, _, key in cells]
    if keys and "cell_key" in {r[0] for r in con.execute("DESCRIBE runs_raw").fetchall()}:
        rows = con.execute(
            "SELECT cell_key, run_id, status FROM runs_raw WHERE cell_key IN (SELECT unnest(?)) ORDER BY started_at",
            [keys],
        ).fetchall()
        for key, run_id, status in rows:  # later rows win: the latest run of the cell
            runs[key] = {"run_id": run_id, "status": status}
        ids = [r["run_id"] for r in runs.values()]
        metrics: dict[str, dict[str, float]] = {}
        for run_id, metric, value in con.execute(
            "SELECT run_id, name, value FROM metrics WHERE run_id IN (SELECT unnest(?)) ORDER BY name", [ids]
        ).fetchall():
            metrics.setdefault(run_id, {})[metric] = round(float(value), 6)
        for entry in runs.values():
            entry.update(metrics.get(entry["run_id"], {}))
    table = {}
    for cell_overrides, label, key in cells:
        table[label] = {"overrides": " ".join(cell_overrides), **runs.get(key, {"run_id": None, "status": "missing"})}
    return {"sweep": name, "overrides": overrides, "cells": table}


def run_sweep(name: str, lab_config: str = LAB_CONFIG) -> int:
    """Run the sweep (``python -m modellab -m ...`` into ``results/``) and write its summary."""
    sweeps = lab_sweeps(lab_config)
    if name not in sweeps:
        raise PipelineError(f"{lab_config}: no sweep '{name}' (has {sorted(sweeps)})")
    overrides = sweeps[name]
    logger.info("[pipeline] sweep %s: %s", name, " ".join(overrides))
    command = [sys.executable, "-m", "modellab", "-m", *overrides, "progress=false", f"results_dir={RESULTS}"]
    code = subprocess.run(command, cwd=REPO_ROOT, env=_clean_env()).returncode
    summary = summarise(name, overrides)
    path = REPO_ROOT / summary_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    missing = [label for label, cell in summary["cells"].items() if cell["status"] in ("missing", "failed")]
    logger.info("[pipeline] sweep %s: %d cells -> %s", name, len(summary["cells"]), path.relative_to(REPO_ROOT))
    if missing:
        logger.warning("[pipeline] sweep %s: no complete run for %s", name, missing)
    return code or (1 if missing else 0)
