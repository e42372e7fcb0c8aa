"""Speaker-attributed ASR models ("who said what"): audio in, words with speakers out.

The cascade chains two registered models: a diarizer (``conf/model`` with the ``diarization``
capability) and an ASR model with word timestamps. The ASR model transcribes the whole file once;
each word then takes the speaker of the diarizer turn it overlaps most (the nearest turn when it
overlaps none). Chosen over transcribing each diarizer turn separately because one pass keeps the
ASR model's context across turns, does not cut words at a diarizer boundary that is off by a few
hundred milliseconds, and costs one decode instead of one (padded 30 s Whisper window) per turn;
its weakness is a word whose timestamp straddles a speaker change, which the WDER measures.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

from modellab.models.base import ASRModel, DiarizationModel, Model
from modellab.models.stages import StagedModel, StageSpec
from modellab.types import Audio, SpeakerTurn, Transcript, Word

__all__ = [
    "CascadeSpeakerASR",
    "SpeakerASRModel",
    "SpeakerCascadeOptions",
    "SpeakerTranscript",
    "SpeakerWord",
    "assign_speakers",
    "timed_words",
]

NO_SPEAKER = "speaker0"  # the one speaker of a file where the diarizer found no turns


@dataclass
class SpeakerWord:
    word: str
    start: float
    end: float
    speaker: str


@dataclass
class SpeakerTranscript:
    """Raw output: never normalised. ``turns`` are the diarizer's (DER is scored on them) where there is one."""

    words: list[SpeakerWord]
    turns: list[SpeakerTurn] = field(default_factory=list)
    stages_s: dict[str, float] = field(default_factory=dict)


class SpeakerASRModel(Model):
    @abstractmethod
    def predict(self, inputs: Audio) -> SpeakerTranscript: ...


def _overlap(word: Word, turn: SpeakerTurn) -> float:
    return max(0.0, min(word.end, turn.end) - max(word.start, turn.start))


def _gap(word: Word, turn: SpeakerTurn) -> float:
    middle = (word.start + word.end) / 2
    return max(turn.start - middle, middle - turn.end, 0.0)


def assign_speakers(words: list[Word], turns: list[SpeakerTurn]) -> list[SpeakerWord]:
    """Each word takes the speaker of the turn it overlaps most; with no overlap, the nearest turn
    (distance from the word's middle); ties go to the earlier turn. No turns: one speaker."""
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    out = []
    for w in words:
        speaker = NO_SPEAKER
        if ordered:
            best = max(ordered, key=lambda t: (_overlap(w, t), -_gap(w, t)))
            speaker = best.speaker
        out.append(SpeakerWord(w.word, float(w.start), float(w.end), str(speaker)))
    return out


def timed_words(transcript: Transcript) -> list[Word]:
    """The transcript's timed words; without word timestamps, each segment's words share its span."""
    if transcript.words:
        return [w for w in transcript.words if w.word.strip()]
    return [
        Word(token, float(seg["start"]), float(seg["end"]))
        for seg in transcript.segments
        for token in str(seg.get("text", "")).split()
    ]


@dataclass
class SpeakerCascadeOptions:
    diarizer: str  # a conf/model name with the diarization capability
    asr: str  # a conf/model name with the asr capability
    asr_options: dict[str, Any]  # set on the ASR model's options (word_timestamps: true)
    diarizer_options: dict[str, Any]  # set on the diarizer's options (e.g. num_speakers)


class CascadeSpeakerASR(SpeakerASRModel, StagedModel):
    """Diarizer + ASR, each a registered model loaded once per process (shared with other runs)."""

    Options = SpeakerCascadeOptions

    def wanted_stages(self) -> dict[str, StageSpec]:
        o = self.options
        return {
            "diarizer": (o.diarizer, DiarizationModel, dict(o.diarizer_options or {})),
            "asr": (o.asr, ASRModel, dict(o.asr_options or {})),
        }

    def predict(self, inputs: Audio) -> SpeakerTranscript:
        start = time.perf_counter()
        turns = list(self.stage["diarizer"].predict(inputs))
        t = time.perf_counter()
        transcript = self.stage["asr"].predict(inputs)
        stages = {"diarizer_s": t - start, "asr_s": time.perf_counter() - t}
        return SpeakerTranscript(assign_speakers(timed_words(transcript), turns), turns, stages)
