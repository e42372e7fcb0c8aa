"""Diarization references: one RTTM file per recording, an optional UEM (scored regions).

The YAML declares where things are, relative to ``root``, with ``{uri}`` standing for the
recording id (the RTTM "file" column)::

    options:
      audio: audio/{uri}.wav
      rttm: rttm/{uri}.rttm
      uem: all.uem            # one file for all recordings, or uem/{uri}.uem; null: score everything
      uris: lists/test.txt    # one URI per line; null: every audio file matching `audio`

RTTM ``SPEAKER`` lines are checked (field count, numbers, the URI column matches the recording).
The UEM regions of a recording land in ``sample.extra["uem"]`` as ``[[start, end], ...]`` and in
the dataset's content hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from modellab.datasets.base import Dataset, DatasetError, resolve_inside
from modellab.datasets.formats import audio_duration, open_text
from modellab.types import Sample

__all__ = ["RTTMDataset", "RTTMOptions", "check_rttm", "read_uem"]

URI = "{uri}"


@dataclass
class RTTMOptions:
    audio: str  # audio path template with {uri}, relative to root
    rttm: str  # RTTM path template with {uri}: one file per recording
    uem: str | None  # a UEM file for all recordings or a template with {uri}; null: no UEM
    uris: str | None  # a file listing the recording ids, one per line; null: every matching audio file


def check_rttm(path: Path, uri: str) -> int:
    """Validate the ``SPEAKER`` lines of ``path`` (all about ``uri``); returns how many there are."""
    from modellab.metrics.diarization import RTTMError, read_rttm

    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        return len(read_rttm(path, uri=uri))
    except RTTMError as exc:
        raise DatasetError(str(exc)) from None


def read_uem(path: Path) -> dict[str, list[list[float]]]:
    """``<uri> <channel> <start> <end>`` lines: uri -> sorted [[start, end], ...]."""
    regions: dict[str, list[list[float]]] = {}
    for lineno, line in open_text(path):
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        where = f"{path}:{lineno}"
        if len(fields) != 4:
            raise DatasetError(f"{where}: expected '<uri> <channel> <start> <end>', got {len(fields)} fields")
        try:
            start, end = float(fields[2]), float(fields[3])
        except ValueError:
            raise DatasetError(f"{where}: start and end must be numbers, got {fields[2]!r} {fields[3]!r}") from None
        if start < 0 or end <= start:
            raise DatasetError(f"{where}: region [{start}, {end}] is empty or negative")
        regions.setdefault(fields[0], []).append([start, end])
    return {uri: sorted(r) for uri, r in regions.items()}


class RTTMDataset(Dataset):
    """One sample per recording: its audio, its RTTM and (optionally) its UEM regions."""

    Options = RTTMOptions
    FIELDS: ClassVar[tuple[str, ...]] = ("sample_id", "audio", "rttm", "duration", "uem")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in ("audio", "rttm"):
            template = getattr(self.options, field)
            if template.count(URI) != 1:
                raise DatasetError(f"conf/dataset/{self.name}.yaml options.{field}: needs {URI} exactly once")

    def is_built(self) -> bool:
        return self.root.is_dir() and bool(self._uris(quiet=True))

    def _uris(self, quiet: bool = False) -> list[str]:
        if self.options.uris:
            path = resolve_inside(self.root, self.options.uris, f"conf/dataset/{self.name}.yaml options.uris")
            if not path.is_file():
                if quiet:
                    return []
                raise DatasetError(f"{path}: recording list not found")
            return [line.strip() for _, line in open_text(path) if line.strip() and not line.startswith("#")]
        head, tail = self.options.audio.split(URI)
        pattern = re.compile(re.escape(head) + r"(?P<uri>[^/]+)" + re.escape(tail) + "$")
        found = []
        for path in self.root.glob(head + "*" + tail):
            match = pattern.match(path.relative_to(self.root).as_posix())
            if match:
                found.append(match.group("uri"))
        return sorted(found)

    def _uem(self, uri: str, where: str) -> list[list[float]] | None:
        template = self.options.uem
        if not template:
            return None
        path = resolve_inside(self.root, template.replace(URI, uri), where)
        regions = read_uem(path).get(uri)
        if regions is None:
            raise DatasetError(f"{path}: no UEM region for recording '{uri}'")
        return regions

    def read_samples(self) -> list[Sample]:
        uris = self._uris()
        if not uris:
            raise DatasetError(
                f"dataset '{self.name}': no recordings matching '{self.options.audio}' under {self.root}"
            )
        samples = []
        where = f"conf/dataset/{self.name}.yaml"
        for uri in uris:
            audio = resolve_inside(self.root, self.options.audio.replace(URI, uri), where)
            rttm = resolve_inside(self.root, self.options.rttm.replace(URI, uri), where)
            for kind, path in (("audio", audio), ("RTTM", rttm)):
                if not path.is_file():
                    raise DatasetError(f"dataset '{self.name}': {kind} file of recording '{uri}' not found: {path}")
            check_rttm(rttm, uri)
            uem = self._uem(uri, where)
            samples.append(
                Sample(
                    sample_id=uri,
                    audio_path=str(audio),
                    duration_s=audio_duration(audio),
                    language=self.language,
                    rttm_path=str(rttm),
                    extra={"uri": uri, **({"uem": uem} if uem is not None else {})},
                )
            )
        return samples

    def content_hash(self) -> str:
        """The base hash (ids, audio and RTTM bytes) with the UEM regions mixed in."""
        base = super().content_hash()
        regions = {s.sample_id: s.extra.get("uem") for s in self.samples()}
        if not any(regions.values()):
            return base
        return hashlib.sha256((base + json.dumps(regions, sort_keys=True)).encode()).hexdigest()[:16]
