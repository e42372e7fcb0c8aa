"""Lhotse manifests (a ``RecordingSet`` and a ``SupervisionSet``), read without the Lhotse library.

The two manifests are plain JSONL (optionally gzipped; a ``.json`` list also works) with Lhotse's
field names: recordings ``{id, sources: [{type, channels, source}], sampling_rate, num_samples,
duration}`` and supervisions ``{id, recording_id, start, duration, channel, text, language,
speaker, ...}``. One sample per supervision: its recording's audio file from ``start`` for
``duration`` seconds. Only ``type: file`` sources are supported (``command``/``url``/``memory``
sources are refused with the line named); relative paths resolve inside ``root``.

Lhotse itself is not a dependency: it imports torch and several compiled packages at import time
to read what is two JSON files (see README "Datasets").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from modellab.datasets.base import Dataset, DatasetError, resolve_inside
from modellab.datasets.formats import read_json_records
from modellab.types import Sample

__all__ = ["LhotseDataset", "LhotseOptions"]


@dataclass
class LhotseOptions:
    recordings: str  # the RecordingSet manifest, relative to root (e.g. recordings.jsonl.gz)
    supervisions: str  # the SupervisionSet manifest, relative to root (e.g. supervisions.jsonl.gz)


def _number(item: dict[str, Any], key: str, where: str) -> float:
    value = item.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise DatasetError(f"{where}: '{key}' must be a number, got {value!r}")
    return float(value)


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise DatasetError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


class LhotseDataset(Dataset):
    """Supervision segments of Lhotse recordings, as samples."""

    Options = LhotseOptions
    FIELDS: ClassVar[tuple[str, ...]] = ("sample_id", "audio", "text", "speaker", "language", "offset", "duration")

    def _path(self, field: str) -> Path:
        return resolve_inside(self.root, getattr(self.options, field), f"conf/dataset/{self.name}.yaml options.{field}")

    def is_built(self) -> bool:
        return self._path("recordings").is_file() and self._path("supervisions").is_file()

    def _recordings(self) -> dict[str, Path]:
        path = self._path("recordings")
        out: dict[str, Path] = {}
        for lineno, item in read_json_records(path):
            where = f"{path}:{lineno}"
            rec = _string(item, "id", where)
            if rec in out:
                raise DatasetError(f"{where}: duplicate recording id '{rec}'")
            sources = item.get("sources")
            if not isinstance(sources, list) or len(sources) != 1 or not isinstance(sources[0], dict):
                raise DatasetError(f"{where}: recording '{rec}' needs exactly one source (got {sources!r})")
            if sources[0].get("type") != "file":
                raise DatasetError(
                    f"{where}: recording '{rec}' has a '{sources[0].get('type')}' source; only 'file' is supported"
                )
            audio = resolve_inside(self.root, _string(sources[0], "source", where), where)
            if not audio.is_file():
                raise DatasetError(f"{where}: audio file {audio} not found")
            out[rec] = audio
        return out

    def read_samples(self) -> list[Sample]:
        recordings = self._recordings()
        path = self._path("supervisions")
        samples = []
        for lineno, item in read_json_records(path):
            where = f"{path}:{lineno}"
            rec = _string(item, "recording_id", where)
            if rec not in recordings:
                raise DatasetError(f"{where}: recording '{rec}' is not in {self.options.recordings}")
            start, duration = _number(item, "start", where), _number(item, "duration", where)
            if start < 0 or duration <= 0:
                raise DatasetError(f"{where}: segment start {start} / duration {duration} is empty or negative")
            samples.append(
                Sample(
                    sample_id=_string(item, "id", where),
                    audio_path=str(recordings[rec]),
                    text=item.get("text"),
                    duration_s=round(duration, 6),
                    speaker=item.get("speaker"),
                    language=item.get("language") or self.language,
                    offset_s=start,
                    extra={"recording_id": rec, "end_s": round(start + duration, 6)},
                )
            )
        return samples
