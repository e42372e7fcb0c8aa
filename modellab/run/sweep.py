"""Exit codes, and sweep bookkeeping: failed cells and failed runs are recorded while the sweep
runs and make the whole sweep exit non-zero at the end (docs/exit-codes.md has the table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "FAIL_ON",
    "FailedCellsCallback",
    "config_composed",
    "exit_code_for",
    "record_failure",
    "run_failure",
]

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # an error the lab does not handle (traceback shown), or Hydra's own after composition
EXIT_USAGE = 2  # usage or config error: fix the command line or conf/
EXIT_CANNOT_RUN = 3  # a cell could not run: weights, extra, dataset or results store missing / unwritable
EXIT_FAILED = 4  # a run failed (all its samples), or with fail_on=sample any sample failed

FAIL_ON = ("run", "sample", "never")
_FAILURES = "failed_cells.jsonl"
# Set by the callback once Hydra has composed the config: before that a Hydra error is a usage error.
_STATE = {"composed": False}


def config_composed() -> bool:
    """Whether Hydra got as far as a composed config in this process (then its errors are not usage errors)."""
    return _STATE["composed"]


def run_failure(status: str, n_failed: int, n_samples: int, fail_on: str) -> str | None:
    """Why a finished run makes the command fail under ``fail_on``, or None when it does not.

    ``run``: only a run whose every sample failed (status ``failed``); ``sample``: any failed sample;
    ``never``: nothing (exit 0 whatever the samples did)."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on={fail_on!r}: expected one of {', '.join(FAIL_ON)} (conf/config.yaml)")
    if fail_on == "never":
        return None
    if status == "failed":
        return f"the run failed: {n_failed}/{n_samples} samples failed"
    if fail_on == "sample" and n_failed:
        return f"{n_failed}/{n_samples} samples failed (fail_on=sample)"
    return None


def record_failure(sweep_dir: str, overrides: str, message: str, code: int = EXIT_FAILED) -> None:
    """Note a failed cell of a sweep (``code`` is the exit code it would have had on its own)."""
    path = Path(sweep_dir) / _FAILURES
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"overrides": overrides, "error": message, "code": code}) + "\n")


def exit_code_for(codes: list[int]) -> int:
    """The sweep's exit code from its failed cells' codes: the most actionable one (usage 2, then
    cannot-run 3, then failed 4); 0 when none failed."""
    failing = [c for c in codes if c]
    return min(failing) if failing else EXIT_OK


class FailedCellsCallback(Callback):
    """After a multirun, list the failed cells and exit with their code (see :func:`exit_code_for`)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _STATE["composed"] = True

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _STATE["composed"] = True

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        path = Path(config.hydra.sweep.dir) / _FAILURES
        if not path.exists():
            return
        failures = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not failures:
            return
        print(f"modellab: {len(failures)} cell(s) of the sweep failed:")
        for f in failures:
            print(f"  {f['overrides']}: {f['error']}")
        # Lines written before exit codes were recorded per cell count as "could not run" (their old meaning).
        raise SystemExit(exit_code_for([int(f.get("code", EXIT_CANNOT_RUN)) for f in failures]))
