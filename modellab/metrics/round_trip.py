"""Round-trip intelligibility: transcribe generated speech with a configured ASR model, score WER/CER.

The ASR model is any ``conf/model/<name>.yaml`` with the ``asr`` capability, instantiated through
the registry and loaded once per process (shared with the runner's model cache, so a sweep that
also benchmarks that model does not load it twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.audio import resample
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.wer import ErrorCounts, char_errors, pooled, word_errors
from modellab.types import SAMPLE_RATE, Audio

__all__ = [
    "IntelligibilityOptions",
    "RoundTripASR",
    "RoundTripScore",
    "load_registered",
    "load_set_up",
    "pooled_rates",
    "score_round_trip",
]


@dataclass
class IntelligibilityOptions:
    """Values in conf/task/<task>.yaml. ``asr_model: null`` turns the round trip off."""

    asr_model: str | None
    device: str
    normalizers: list[str]
    primary_normalizer: str


def load_registered(group: str, name: str) -> Any:
    """``registry.load_component`` that also works inside a running Hydra app (its GlobalHydra is kept)."""
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    from modellab.config.registry import load_component

    backup = get_gh_backup()
    try:
        return load_component(group, name)
    finally:
        restore_gh_from_backup(backup)


def load_set_up(model: Any, device: Any) -> Any:
    """Load ``model`` on ``device`` once per process, sharing the runner's cache of loaded models."""
    from modellab.run.runner import loaded_models

    key = (model.identity_hash(), device.key())
    cache = loaded_models()
    if key not in cache:
        model.setup(device)
        cache[key] = model
    return cache[key]


class RoundTripASR:
    """A lazily loaded ASR model that transcribes :class:`Audio` of any sample rate."""

    def __init__(self, model_name: str, device_name: str) -> None:
        self.model_name = model_name
        self.device_name = device_name
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from modellab.models.base import ASRModel

            model = load_registered("model", self.model_name)
            if not isinstance(model, ASRModel):
                raise TypeError(
                    f"intelligibility.asr_model '{self.model_name}' is a {type(model).__name__}, not an ASR model"
                )
            self._model = load_set_up(model, load_registered("device", self.device_name))
        return self._model

    def transcribe(self, audio: Audio) -> str:
        if audio.samples.size == 0:
            return ""
        samples = resample(audio.samples, audio.sample_rate, SAMPLE_RATE)
        return self.model.predict(Audio(samples, SAMPLE_RATE)).text


@dataclass
class RoundTripScore:
    """Per-normaliser word and character error counts for one (reference, hypothesis) pair."""

    words: dict[str, ErrorCounts]
    chars: dict[str, ErrorCounts]


def score_round_trip(reference: str, hypothesis: str, normalizers: list[str]) -> RoundTripScore:
    words, chars = {}, {}
    for name in normalizers:
        norm = get_normalizer(name)
        words[name] = word_errors(norm(reference), norm(hypothesis))
        chars[name] = char_errors(norm(reference), norm(hypothesis))
    return RoundTripScore(words, chars)


def pooled_rates(scores: list[RoundTripScore], normalizer: str) -> tuple[float, float]:
    """Corpus-pooled (WER, CER) under one normaliser."""
    return pooled([s.words[normalizer] for s in scores]).rate, pooled([s.chars[normalizer] for s in scores]).rate
