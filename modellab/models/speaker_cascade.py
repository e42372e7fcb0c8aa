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
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from modellab.models.base import ASRModel, DiarizationModel, Model
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


def _set_options(model: Model, values: dict[str, Any], where: str) -> None:
    names = {f.name for f in fields(model.options)} if is_dataclass(model.options) else set()
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{where}: model '{model.name}' has no options {unknown} (conf/model/{model.name}.yaml)")
    for key, value in values.items():
        setattr(model.options, key, value)


class CascadeSpeakerASR(SpeakerASRModel):
    """Diarizer + ASR, each a registered model loaded once per process (shared with other runs)."""

    Options = SpeakerCascadeOptions

    def _stages(self) -> dict[str, Model]:
        """Instantiate (cheaply, nothing loaded) the stage models, with this config's options set on them."""
        if getattr(self, "_stage_models", None) is None:
            from modellab.models.compose import load_registered

            o = self.options
            wanted: dict[str, tuple[str, type[Model], dict[str, Any]]] = {
                "diarizer": (o.diarizer, DiarizationModel, o.diarizer_options),
                "asr": (o.asr, ASRModel, o.asr_options),
            }
            stages: dict[str, Model] = {}
            for stage, (name, kind, values) in wanted.items():
                model = load_registered("model", name)
                if not isinstance(model, kind):
                    raise TypeError(
                        f"conf/model/{self.name}.yaml options.{stage}: '{name}' is a {type(model).__name__}, "
                        f"which cannot be the {stage} stage"
                    )
                _set_options(model, values, f"conf/model/{self.name}.yaml options.{stage}_options")
                stages[stage] = model
            self._stage_models = stages
        return self._stage_models

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["stages"] = {stage: model.identity() for stage, model in self._stages().items()}
        return ident

    def check_requirements(self) -> None:
        super().check_requirements()
        for model in self._stages().values():
            model.check_requirements()

    def load(self) -> None:
        from modellab.models.compose import load_set_up

        self.stage = {name: load_set_up(model, self.device) for name, model in self._stages().items()}

    def predict(self, inputs: Audio) -> SpeakerTranscript:
        start = time.perf_counter()
        turns = list(self.stage["diarizer"].predict(inputs))
        t = time.perf_counter()
        transcript = self.stage["asr"].predict(inputs)
        stages = {"diarizer_s": t - start, "asr_s": time.perf_counter() - t}
        return SpeakerTranscript(assign_speakers(timed_words(transcript), turns), turns, stages)
