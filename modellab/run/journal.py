"""The resume journal: every finished sample of a cell, one JSON line each, flushed as it lands.

A killed run leaves ``results/journal/<cell key>.jsonl`` behind; the next run of the same cell
reads it back and computes only the samples it lacks. The journal is removed once the run's rows
are written (or when the cell turns out to be stored already).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from modellab.tasks.base import SampleRecord
from modellab.types import Sample

__all__ = ["Journal"]

# The SampleRecord fields a journal line keeps (the sample itself comes back from the dataset).
_FIELDS = ("output", "error", "compute_s", "audio_s", "artifact", "level_dbfs")


class Journal:
    """Append-only record of one cell's finished samples. Use as a context manager to write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def finished(self) -> dict[str, dict[str, Any]]:
        """Journal entries by sample id (empty when there is no journal). A line cut by a crash is
        skipped: that sample is simply redone."""
        done: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[entry["sample_id"]] = entry
        return done

    @staticmethod
    def restore(sample: Sample, entry: dict[str, Any]) -> SampleRecord:
        """The record a journal entry stands for."""
        return SampleRecord(
            sample,
            entry.get("output"),
            entry.get("error"),
            entry.get("compute_s", 0.0),
            entry.get("audio_s", 0.0),
            entry.get("artifact"),
            entry.get("level_dbfs"),
        )

    def __enter__(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, records: list[SampleRecord]) -> None:
        """Append ``records`` and flush, so a kill right after loses none of them."""
        if self._file is None:
            raise RuntimeError(f"{self.path}: journal written outside its 'with' block")
        for record in records:
            entry = {"sample_id": record.sample.sample_id, **{name: getattr(record, name) for name in _FIELDS}}
            self._file.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
