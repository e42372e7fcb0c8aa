"""``python -m modellab.results.compact [--results-dir DIR] [--max-files N]``: merge per-run Parquet
files into few files, so queries do not slow down with the number of runs.

Every finished run writes one file per table (``runs/<run_id>.parquet``, ...). Compaction merges
the files of *complete* runs (those with a ``runs`` row when it starts) into one
``compacted-<stamp>-<hex>.parquet`` per table, in the same folder, so the DuckDB views and the
runner's cell cache read them with the same glob. When more than ``max_files`` compacted files
pile up, they are merged into one.

Safety:

- Atomic: the merged file is written to a hidden temp name, its row count and run ids checked
  against the sources, fsynced and renamed into place; only then are the sources removed.
  A crash before the rename leaves the sources untouched (and a hidden temp file that the next
  compaction removes); a crash after it leaves rows twice, and the next compaction deletes
  the per-run files whose run ids are already in a compacted file (no row is ever lost).
- Concurrent writers: files that appear while compaction runs are not touched; samples and
  metrics of runs still being written (no ``runs`` row yet) are left for a later compaction;
  if a source changes while it is read, nothing of that table is merged this time. Two compactions never run at once
  (``results/.compact.lock``).
- Readers: a query that lists the folder at the very moment the sources are removed may fail
  once with "file not found"; run it again.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
from hydra.experimental.callback import Callback

from modellab.results.store import TABLES, ResultsStore, default_results_dir

if TYPE_CHECKING:  # imported where used: every run loads this callback, few runs compact
    import duckdb

__all__ = ["COMPACTED_PREFIX", "CompactAfterSweep", "CompactionError", "TableReport", "compact", "main"]

logger = logging.getLogger(__name__)

COMPACTED_PREFIX = "compacted-"
_LOCK_NAME = ".compact.lock"
_TMP_PREFIX = ".compacting-"


class CompactionError(RuntimeError):
    """The merged file does not hold exactly the rows of its sources; nothing was removed."""


@dataclass
class TableReport:
    table: str
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    merged: int = 0
    repaired: int = 0
    kept_changed: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.table}: {self.files_before} files -> {self.files_after} ({self.rows} rows"
        text += f", {self.merged} merged" if self.merged else ""
        text += f", {self.repaired} duplicate per-run files removed" if self.repaired else ""
        text += f", {len(self.kept_changed)} changed during compaction kept" if self.kept_changed else ""
        return text + ")"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _run_ids(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> set[str]:
    if not paths:
        return set()
    rows = con.execute(f"SELECT DISTINCT run_id FROM read_parquet({_sql_list(paths)}, union_by_name=true)").fetchall()
    return {r[0] for r in rows}


def _rows(paths: list[Path]) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK_NAME, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _parquet_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(per-run files, compacted files) in the folder, sorted by name (= by time)."""
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    compacted = [p for p in files if p.name.startswith(COMPACTED_PREFIX)]
    return [p for p in files if not p.name.startswith(COMPACTED_PREFIX)], compacted


def _repair(con: duckdb.DuckDBPyConnection, folder: Path, report: TableReport) -> None:
    """Remove what a crashed compaction left: hidden temp files, per-run files already merged."""
    for tmp in folder.glob(f"{_TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)
    per_run, compacted = _parquet_files(folder)
    merged_ids = _run_ids(con, compacted)
    for path in per_run:
        if path.stem in merged_ids:
            path.unlink(missing_ok=True)
            report.repaired += 1


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _merge(con: duckdb.DuckDBPyConnection, folder: Path, sources: list[Path], report: TableReport) -> None:
    """Merge ``sources`` into one new compacted file, then remove them."""
    signatures = {p: _signature(p) for p in sources}
    expected_rows = _rows(sources)
    expected_ids = _run_ids(con, sources)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    final = folder / f"{COMPACTED_PREFIX}{stamp}-{secrets.token_hex(4)}.parquet"
    tmp = folder / f"{_TMP_PREFIX}{final.name}.tmp"
    try:
        con.execute(
            f"COPY (SELECT * FROM read_parquet({_sql_list(sources)}, union_by_name=true)) "
            f"TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)"
        )
        got_rows = _rows([tmp])
        got_ids = _run_ids(con, [tmp])
        if got_rows != expected_rows or got_ids != expected_ids:
            raise CompactionError(
                f"{folder}: merged file has {got_rows} rows of {len(got_ids)} runs, "
                f"sources have {expected_rows} rows of {len(expected_ids)} runs; sources kept"
            )
        changed = [str(p) for p in sources if _signature(p) != signatures[p]]
        if changed:
            # Rewritten (or removed) while we read it: merge nothing this time, keep everything.
            report.kept_changed.extend(changed)
            tmp.unlink(missing_ok=True)
            return
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(folder)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    for path in sources:
        path.unlink(missing_ok=True)
    report.merged += len(sources)


def compact(results_dir: str | os.PathLike[str] | None = None, max_files: int = 8) -> list[TableReport]:
    """Compact every table of the store; returns one report per table."""
    if max_files < 1:
        raise ValueError(f"max_files must be at least 1, got {max_files}")
    import duckdb

    store = ResultsStore(results_dir)
    reports = []
    with _exclusive(store.root):
        con = duckdb.connect()
        runs_folder = store.root / "runs"
        # Snapshot of complete runs: only their files are merged (others may still be writing).
        complete = (
            _run_ids(con, [p for group in _parquet_files(runs_folder) for p in group])
            if runs_folder.exists()
            else set()
        )
        for table in TABLES:
            folder = store.root / table
            report = TableReport(table)
            reports.append(report)
            if not folder.exists():
                continue
            report.files_before = sum(len(x) for x in _parquet_files(folder))
            _repair(con, folder, report)
            per_run, compacted = _parquet_files(folder)
            ready = [p for p in per_run if p.stem in complete]
            sources = list(ready)
            if len(compacted) + (1 if ready else 0) > max_files:
                sources = compacted + ready
            if sources:
                _merge(con, folder, sources, report)
            per_run, compacted = _parquet_files(folder)
            report.files_after = len(per_run) + len(compacted)
            report.rows = _rows(per_run + compacted)
        con.close()
    return reports


def per_run_files(results_dir: str | os.PathLike[str]) -> int:
    """How many runs are stored one file per table (not yet compacted)."""
    folder = Path(results_dir) / "runs"
    return len(_parquet_files(folder)[0]) if folder.exists() else 0


class CompactAfterSweep(Callback):
    """Hydra callback: after a sweep, compact when more than ``compact_above`` (top-level config
    key; 0 turns it off) runs are stored one file per table. Never fails the sweep."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        threshold = int(config.get("compact_above", 0) or 0)
        results_dir = str(config.results_dir)
        if threshold <= 0 or per_run_files(results_dir) <= threshold:
            return
        try:
            reports = compact(results_dir)
        except Exception as exc:  # noqa: BLE001 - compaction is housekeeping; the sweep's results stand
            logger.warning("modellab: compacting %s after the sweep failed: %s", results_dir, exc)
            return
        runs = next(r for r in reports if r.table == "runs")
        logger.info("[modellab] compacted %s: runs %d files -> %d", results_dir, runs.files_before, runs.files_after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab.results.compact",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    parser.add_argument("--max-files", type=int, default=8, help="merge compacted files when more than this pile up")
    args = parser.parse_args(argv)
    root = Path(args.results_dir) if args.results_dir else default_results_dir()
    if not root.exists():
        print(f"modellab.results.compact: {root}: no results store here", file=sys.stderr)
        return 2
    import duckdb

    start = time.perf_counter()
    try:
        reports = compact(root, max_files=args.max_files)
    except (CompactionError, duckdb.Error, OSError) as exc:
        print(f"modellab.results.compact: {exc}", file=sys.stderr)
        return 1
    for report in reports:
        print(report.line())
        for path in report.kept_changed:
            print(f"  kept (changed while compacting): {path}")
    print(f"compacted {root} in {time.perf_counter() - start:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
