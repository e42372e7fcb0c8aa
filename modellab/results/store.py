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

import numpy as np
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


_INT64 = (-(2**63), 2**63 - 1)
_EXACT_IN_DOUBLE = 2**53  # pyarrow refuses to turn a larger int into a double


def _kinds(values: list[Any]) -> set[type]:
    """The scalar kinds present (bool, int, float, str; None left out); ``object`` for anything else."""
    kinds: set[type] = set()
    for v in values:
        if v is None:
            continue
        kind = next((k for k in (bool, int, float, str) if isinstance(v, k)), object)
        kinds.add(kind)
    return kinds


def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    nulls = len(values) - int(valid.sum())
    return (pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None), nulls


def _numbers(values: list[Any], kinds: set[type]) -> pa.Array | None:
    """An int64 or double column, as ``pa.array`` infers it, or None when pyarrow would refuse it."""
    ints = [v for v in values if isinstance(v, int)]
    if kinds == {int}:
        if ints and not (_INT64[0] <= min(ints) and max(ints) <= _INT64[1]):
            return None
        arrow_type, dtype = pa.int64(), "int64"
    else:
        if ints and max(abs(v) for v in ints) > _EXACT_IN_DOUBLE:
            return None
        arrow_type, dtype = pa.float64(), "float64"
    data = np.array([0 if v is None else v for v in values], dtype=dtype)
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(data)], null_count=nulls)


def _strings(values: list[Any]) -> pa.Array | None:
    try:
        encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    except UnicodeEncodeError:  # e.g. a lone surrogate: pyarrow's own message
        return None
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        return None
    validity, nulls = _validity(values)
    buffers = [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers, null_count=nulls)


def _bools(values: list[Any]) -> pa.Array:
    bits = np.packbits(np.array([bool(v) for v in values], dtype=bool), bitorder="little")
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bits)], null_count=nulls)


def _column(values: list[Any]) -> pa.Array:
    """``pa.array(values)``, built from buffers for the plain kinds of a results row (None, bool,
    int, float, str): ``pa.array`` imports pandas (~0.4 s) to check whether a list is a pandas
    object. The same type and values as ``pa.array``; anything else goes to ``pa.array`` itself."""
    kinds = _kinds(values)
    built: pa.Array | None = None
    if not kinds:
        built = pa.nulls(len(values))
    elif kinds == {bool}:
        built = _bools(values)
    elif kinds <= {int, float}:
        built = _numbers(values, kinds)
    elif kinds == {str}:
        built = _strings(values)
    return built if built is not None else pa.array(values)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [_jsonable(row.get(key)) for row in rows]
    return pa.Table.from_arrays([_column(v) for v in columns.values()], names=list(columns))


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
