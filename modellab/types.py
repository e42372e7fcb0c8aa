"""Plain data types shared by datasets, models, tasks and the results store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Audio",
    "Sample",
    "Segment",
    "SpeakerTurn",
    "Word",
    "Transcript",
]

SAMPLE_RATE = 16_000


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return float(len(self.samples)) / float(self.sample_rate)


@dataclass
class Sample:
    """One item of a dataset. ``audio_path`` is absolute; ``text`` is the reference (or None)."""

    sample_id: str
    audio_path: str | None = None
    text: str | None = None
    duration_s: float | None = None
    speaker: str | None = None
    language: str = "en"
    rttm_path: str | None = None
    stm_path: str | None = None
    offset_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Segment:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float | None = None


@dataclass
class Transcript:
    """An ASR model's raw output: never normalised (normalisers apply at scoring time)."""

    text: str
    segments: list[dict[str, Any]] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    language: str | None = None
