"""Parquet results store: one file per run and table, written atomically; DuckDB views on top.

Layout under ``results_dir``::

    runs/<run_id>.parquet      one row per run (written last: it marks the run complete)
    samples/<run_id>.parquet   one row per sample
    metrics/<run_id>.parquet   long form: run_id, name, value, higher_is_better
    artifacts/<run_id>/        config, RTTM, generated audio, ...
    journal/<cell_key>.jsonl   raw outputs per finished sample, for resume after a crash
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ResultsStore", "TABLES", "default_results_dir", "ResultsWriteError"]

TABLES = ("runs", "samples", "metrics")


class ResultsWriteError(OSError):
    """Writing results failed (e.g. the disk is full); nothing half-written is left behind."""


def default_results_dir() -> Path:
    return Path(os.environ.get("MODELLAB_RESULTS_DIR", "results"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [_jsonable(row.get(key)) for row in rows]
    return pa.table(columns) if rows else pa.table({})


class ResultsStore:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_results_dir()

    def path(self, table: str, run_id: str) -> Path:
        return self.root / table / f"{run_id}.parquet"

    def artifacts(self, run_id: str) -> Path:
        path = self.root / "artifacts" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def journal_path(self, cell_key: str) -> Path:
        return self.root / "journal" / f"{cell_key}.jsonl"

    def write_atomic(self, table: str, run_id: str, rows: list[dict[str, Any]]) -> Path:
        final = self.path(table, run_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            pq.write_table(_table(rows), tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ResultsWriteError(exc.errno, f"cannot write {final}: {exc.strerror or exc}") from exc
        return final

    def write_run(self, run: dict[str, Any], samples: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> None:
        """Samples and metrics first, the run row last: a run row means the run is complete."""
        run_id = run["run_id"]
        if samples:
            self.write_atomic("samples", run_id, samples)
        if metrics:
            self.write_atomic("metrics", run_id, metrics)
        self.write_atomic("runs", run_id, [run])

    def has_table(self, table: str) -> bool:
        folder = self.root / table
        return folder.exists() and any(folder.glob("*.parquet"))
