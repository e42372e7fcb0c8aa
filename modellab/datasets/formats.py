"""Helpers shared by the corpus-layout datasets (LibriSpeech, Kaldi, RTTM/UEM, Lhotse, HF).

Every reader names the file and line of a problem (:class:`DatasetError`) and resolves every
path inside the dataset root (:func:`resolve_inside`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import soundfile

from modellab.datasets.base import DatasetError

__all__ = ["audio_duration", "open_text", "read_json_records", "read_keyed_lines"]


def audio_duration(path: Path) -> float | None:
    """Seconds of audio from the file header (no decoding); None when the header is unreadable."""
    try:
        return round(float(soundfile.info(str(path)).duration), 3)
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None


def open_text(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file, gzip-compressed when it ends in ``.gz``."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                yield lineno, line.rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc


def read_keyed_lines(path: Path, min_fields: int, max_fields: int | None = None) -> dict[str, tuple[int, list[str]]]:
    """Kaldi-style ``<key> <field> ...`` lines: key -> (line number, the other fields).

    ``max_fields`` counts the key; with ``max_fields=2`` everything after the key is one field
    (a transcript with spaces). Duplicate keys and short lines are errors.
    """
    out: dict[str, tuple[int, list[str]]] = {}
    for lineno, line in open_text(path):
        if not line.strip():
            continue
        parts = line.split(maxsplit=max_fields - 1) if max_fields else line.split()
        if len(parts) < min_fields:
            raise DatasetError(f"{path}:{lineno}: expected at least {min_fields} fields, got {len(parts)}")
        key = parts[0]
        if key in out:
            raise DatasetError(f"{path}:{lineno}: duplicate id '{key}' (first on line {out[key][0]})")
        out[key] = (lineno, parts[1:])
    return out


def read_json_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Objects of a JSONL file (``.jsonl``/``.jsonl.gz``, one per line) or a JSON list (``.json``/``.json.gz``)."""
    stem_suffix = Path(path.name.removesuffix(".gz")).suffix
    if stem_suffix == ".json":
        text = "\n".join(line for _, line in open_text(path))
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc
        if not isinstance(items, list):
            raise DatasetError(f"{path}: expected a JSON list of objects")
        records = list(enumerate(items, 1))
    else:
        records = []
        for lineno, line in open_text(path):
            if not line.strip():
                continue
            try:
                records.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from exc
    for lineno, item in records:
        if not isinstance(item, dict):
            raise DatasetError(f"{path}:{lineno}: expected a JSON object, got {type(item).__name__}")
    return records
