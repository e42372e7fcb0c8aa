"""A Hugging Face diarization set (the ``diarizers-community`` layout): per row the audio and its
speaker turns as three parallel lists (``timestamps_start``, ``timestamps_end``, ``speakers``).

Materialising writes each row's audio and an RTTM of its turns (``rttm/<id>.rttm``), so the set is
then read offline like any manifest with an ``rttm`` column. ``columns`` declares ``audio`` and
``starts``, ``ends``, ``speakers`` (the three turn columns), plus the optional ``sample_id``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from modellab.datasets.base import DatasetError
from modellab.datasets.hf import HFDataset
from modellab.metrics.diarization import write_rttm
from modellab.types import SpeakerTurn

__all__ = ["HFDiarizationDataset", "TURN_FIELDS"]

TURN_FIELDS = ("starts", "ends", "speakers")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class HFDiarizationDataset(HFDataset):
    """Audio plus RTTM references from a hub (or local) dataset with per-row speaker-turn lists."""

    FIELDS: ClassVar[tuple[str, ...]] = ("sample_id", "audio", "duration", *TURN_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = [f for f in TURN_FIELDS if f not in self.columns]
        if missing:
            raise DatasetError(f"conf/dataset/{self.name}.yaml columns: declare the turn columns {missing}")

    def extra_fields(self, item: dict[str, Any], sample_id: str, relative_audio: str) -> dict[str, Any]:
        starts, ends, speakers = (item[self.columns[f]] or [] for f in TURN_FIELDS)
        if not len(starts) == len(ends) == len(speakers):
            raise DatasetError(
                f"{self.options.path} row '{sample_id}': {len(starts)} starts, {len(ends)} ends and "
                f"{len(speakers)} speakers (the turn lists must be parallel)"
            )
        turns = []
        for start, end, speaker in zip(starts, ends, speakers, strict=True):
            if float(end) < float(start):
                raise DatasetError(f"{self.options.path} row '{sample_id}': a turn ends ({end}) before it starts")
            turns.append(SpeakerTurn(float(start), float(end), str(speaker)))
        uri = _UNSAFE.sub("_", sample_id)
        relative = f"rttm/{uri}.rttm"
        (self.root / "rttm").mkdir(parents=True, exist_ok=True)
        write_rttm(turns, self.root / relative, uri=uri)
        return {"rttm": relative}
