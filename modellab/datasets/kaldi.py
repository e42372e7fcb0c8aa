"""A Kaldi data directory: ``wav.scp`` with optional ``segments``, ``text`` and ``utt2spk``.

- ``wav.scp``: ``<recording-id> <path>``; the path is relative to the data directory (``root``)
  and must stay inside it. Piped commands (``... |``) and archive offsets (``x.ark:123``) are
  refused with the line named: convert them to audio files first.
- ``segments`` (optional): ``<utterance-id> <recording-id> <start> <end>`` in seconds, ``end`` -1
  meaning the end of the recording. Without it, each recording is one utterance.
- ``text`` (optional, required for a golden set): ``<utterance-id> <transcript>``.
- ``utt2spk`` (optional): ``<utterance-id> <speaker>``.

``text`` and ``utt2spk`` must cover exactly the utterances, as Kaldi's ``validate_data_dir.sh``
demands; a missing or unknown id is an error naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from modellab.datasets.base import Dataset, DatasetError, resolve_inside
from modellab.datasets.formats import audio_duration, read_keyed_lines
from modellab.types import Sample

__all__ = ["KaldiDataset"]

_ARK_OFFSET = re.compile(r"\.ark:\d+$")


class KaldiDataset(Dataset):
    """Samples are the utterances (segments) or, without ``segments``, the recordings."""

    FIELDS: ClassVar[tuple[str, ...]] = ("sample_id", "audio", "text", "speaker", "offset", "duration")

    def is_built(self) -> bool:
        return (self.root / "wav.scp").is_file()

    def _recordings(self) -> dict[str, Path]:
        path = self.root / "wav.scp"
        out: dict[str, Path] = {}
        for rec, (lineno, fields) in read_keyed_lines(path, min_fields=2).items():
            where = f"{path}:{lineno}"
            if fields[-1].endswith("|"):
                raise DatasetError(f"{where}: piped commands are not supported; write '{rec}' to an audio file")
            if len(fields) > 1:
                raise DatasetError(f"{where}: expected '<recording-id> <path>', got {len(fields)} fields after the id")
            if _ARK_OFFSET.search(fields[0]):
                raise DatasetError(f"{where}: archive offsets are not supported; write '{rec}' to an audio file")
            audio = resolve_inside(self.root, fields[0], where)
            if not audio.is_file():
                raise DatasetError(f"{where}: audio file {audio} not found")
            out[rec] = audio
        return out

    def _utterances(self, recordings: dict[str, Path]) -> dict[str, tuple[str, float, float | None]]:
        """utterance -> (recording, start, end or None for 'to the end')."""
        path = self.root / "segments"
        if not path.exists():
            return {rec: (rec, 0.0, None) for rec in recordings}
        out: dict[str, tuple[str, float, float | None]] = {}
        for utt, (lineno, fields) in read_keyed_lines(path, min_fields=4).items():
            where = f"{path}:{lineno}"
            if len(fields) != 3:
                raise DatasetError(f"{where}: expected '<utterance-id> <recording-id> <start> <end>'")
            rec = fields[0]
            if rec not in recordings:
                raise DatasetError(f"{where}: recording '{rec}' is not in wav.scp")
            try:
                start, end = float(fields[1]), float(fields[2])
            except ValueError:
                raise DatasetError(f"{where}: start and end must be numbers, got {fields[1]!r} {fields[2]!r}") from None
            if start < 0 or (end != -1 and end <= start):
                raise DatasetError(f"{where}: segment [{start}, {end}] is empty or negative")
            out[utt] = (rec, start, None if end == -1 else end)
        return out

    def _per_utterance(self, filename: str, utterances: Mapping[str, object]) -> dict[str, str] | None:
        path = self.root / filename
        if not path.exists():
            return None
        rows = read_keyed_lines(path, min_fields=1, max_fields=2)
        unknown = sorted(set(rows) - set(utterances))
        if unknown:
            raise DatasetError(f"{path}:{rows[unknown[0]][0]}: unknown utterance '{unknown[0]}'")
        missing = sorted(set(utterances) - set(rows))
        if missing:
            raise DatasetError(f"{path}: no line for utterance '{missing[0]}' ({len(missing)} missing)")
        return {utt: fields[0] if fields else "" for utt, (_, fields) in rows.items()}

    def read_samples(self) -> list[Sample]:
        recordings = self._recordings()
        utterances = self._utterances(recordings)
        texts = self._per_utterance("text", utterances)
        speakers = self._per_utterance("utt2spk", utterances)
        samples = []
        for utt in sorted(utterances):
            rec, start, end = utterances[utt]
            audio = recordings[rec]
            if end is None:
                total = audio_duration(audio)
                duration = None if total is None else round(total - start, 3)
            else:
                duration = round(end - start, 3)
            samples.append(
                Sample(
                    sample_id=utt,
                    audio_path=str(audio),
                    text=texts[utt] if texts is not None else None,
                    duration_s=duration,
                    speaker=speakers[utt] if speakers is not None else None,
                    language=self.language,
                    offset_s=start,
                    extra={"recording_id": rec, **({"end_s": end} if end is not None else {})},
                )
            )
        return samples
