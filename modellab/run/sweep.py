"""Sweep bookkeeping: failed cells are recorded and make the whole sweep exit non-zero at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

__all__ = ["FailedCellsCallback", "record_failure"]

_FAILURES = "failed_cells.jsonl"


def record_failure(sweep_dir: str, overrides: str, message: str) -> None:
    path = Path(sweep_dir) / _FAILURES
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"overrides": overrides, "error": message}) + "\n")


class FailedCellsCallback(Callback):
    """After a multirun, list the failed cells and exit with status 1 if there were any."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        path = Path(config.hydra.sweep.dir) / _FAILURES
        if not path.exists():
            return
        failures = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(f"modellab: {len(failures)} cell(s) of the sweep failed:")
        for f in failures:
            print(f"  {f['overrides']}: {f['error']}")
        raise SystemExit(1)
