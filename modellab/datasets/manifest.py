"""JSONL and CSV manifests with declared columns (no guessing of column names)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from modellab.datasets.base import Dataset, DatasetError, resolve_inside
from modellab.types import Sample

__all__ = ["ManifestDataset", "write_manifest"]

# Sample field -> default column name; a dataset YAML's ``columns`` maps fields to its own names.
FIELDS = ("sample_id", "audio", "text", "speaker", "rttm", "stm", "language", "duration", "offset")
REQUIRED = ("sample_id", "audio")


class ManifestDataset(Dataset):
    """Rows of ``{sample_id, audio, text, speaker, rttm, stm, language, duration, offset}``.

    ``columns`` maps each field to the manifest's column name (identity by default); unknown
    fields are refused. Audio/RTTM/STM paths are relative to ``root`` and must stay inside it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unknown = set(self.columns) - set(FIELDS)
        if unknown:
            raise DatasetError(f"dataset '{self.name}': unknown column fields {sorted(unknown)}; valid: {list(FIELDS)}")
        self.col = {f: self.columns.get(f, f) for f in FIELDS}

    def _rows(self) -> list[tuple[int, dict[str, Any]]]:
        path = self.manifest_path
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = [self.col[f] for f in REQUIRED if self.col[f] not in (reader.fieldnames or [])]
                if missing:
                    raise DatasetError(f"{path}: header lacks required columns {missing}")
                return [(i + 2, row) for i, row in enumerate(reader)]
        rows = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise DatasetError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                rows.append((lineno, row))
        return rows

    def read_samples(self) -> list[Sample]:
        samples = []
        path = self.manifest_path
        for lineno, row in self._rows():
            where = f"{path}:{lineno}"

            def get(field: str) -> Any:
                value = row.get(self.col[field])
                return None if value in ("", None) else value

            for field in REQUIRED:
                if get(field) is None:
                    raise DatasetError(f"{where}: missing required column '{self.col[field]}'")

            def inside(field: str) -> str | None:
                value = get(field)
                return str(resolve_inside(self.root, str(value), where)) if value else None

            try:
                duration = float(get("duration")) if get("duration") is not None else None
                offset = float(get("offset") or 0.0)
            except (TypeError, ValueError) as exc:
                raise DatasetError(f"{where}: duration/offset must be numbers ({exc})") from exc
            samples.append(
                Sample(
                    sample_id=str(get("sample_id")),
                    audio_path=inside("audio"),
                    text=get("text"),
                    duration_s=duration,
                    speaker=get("speaker"),
                    language=get("language") or self.language,
                    rttm_path=inside("rttm"),
                    stm_path=inside("stm"),
                    offset_s=offset,
                )
            )
        return samples


def write_manifest(root: Path, rows: list[dict[str, Any]], name: str = "manifest.jsonl") -> Path:
    """Write a JSONL manifest atomically (used by the builders)."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    final = root / name
    tmp.replace(final)
    return final
