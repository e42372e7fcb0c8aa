"""Models driven by other code: a registered model loaded once per process, transcription of any
audio with a registered ASR model, and synthesis (streamed where the model can) with a TTS model.

Used by the TTS and voice-to-voice tasks (round-trip intelligibility) and by the cascade model,
which chains registered models. The load cache is the runner's (:mod:`modellab.models.cache`), so a
sweep that also benchmarks a stage model does not load it twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from modellab.audio import resample
from modellab.models.cache import load_once
from modellab.types import SAMPLE_RATE, Audio

__all__ = [
    "RoundTripASR",
    "StreamingSynthesizer",
    "Synthesis",
    "load_registered",
    "load_set_up",
    "synthesize",
]


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
    return load_once(model, device)[0]


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
        return str(self.model.predict(Audio(samples, SAMPLE_RATE)).text)


@runtime_checkable
class StreamingSynthesizer(Protocol):
    """A TTS model that yields audio chunks as they are ready (time to first audio is measurable)."""

    name: str

    def stream(self, text: str) -> Iterator[Audio]: ...


@dataclass
class Synthesis:
    audio: Audio
    first_audio_s: float | None  # call start to first chunk; None when the model does not stream
    chunks: int


def synthesize(model: Any, text: str, streaming: bool) -> Synthesis:
    """Synthesise ``text``; with a streaming model, also time the first chunk."""
    if streaming and isinstance(model, StreamingSynthesizer):
        start = time.perf_counter()
        first: float | None = None
        parts: list[Audio] = []
        for chunk in model.stream(text):
            if first is None:
                first = time.perf_counter() - start
            parts.append(chunk)
        rates = {p.sample_rate for p in parts}
        if len(rates) > 1:
            raise ValueError(f"model '{model.name}' streamed chunks at different sample rates {sorted(rates)}")
        rate = rates.pop() if rates else int(getattr(model, "sample_rate", 16_000))
        samples = np.concatenate([p.samples for p in parts]) if parts else np.zeros(0, dtype=np.float32)
        return Synthesis(Audio(samples, rate), first, len(parts))
    return Synthesis(model.predict(text), None, 1)
