"""The Silero VAD (v6, ONNX) bundled inside faster-whisper, through its own ``get_speech_timestamps``."""

from __future__ import annotations

from dataclasses import dataclass

from modellab.audio import resample
from modellab.models.base import VADModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Segment

__all__ = ["FasterWhisperVAD", "FasterWhisperVADOptions"]

RATE = 16_000


@dataclass
class FasterWhisperVADOptions:
    threshold: float
    neg_threshold: float | None  # null: threshold - 0.15
    min_speech_duration_ms: int
    max_speech_duration_s: float | None  # null: no limit
    min_silence_duration_ms: int
    speech_pad_ms: int


class FasterWhisperVAD(VADModel):
    Options = FasterWhisperVADOptions

    def load(self) -> None:
        from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

        resolve_weights(self.weights, self.name)  # the bundled .onnx must be there
        get_vad_model()  # cached by faster-whisper: load it now, not inside the timed call
        self._timestamps = get_speech_timestamps
        o = self.options
        self._vad_options = VadOptions(
            threshold=o.threshold,
            neg_threshold=o.neg_threshold,
            min_speech_duration_ms=o.min_speech_duration_ms,
            max_speech_duration_s=o.max_speech_duration_s if o.max_speech_duration_s is not None else float("inf"),
            min_silence_duration_ms=o.min_silence_duration_ms,
            speech_pad_ms=o.speech_pad_ms,
        )

    def predict(self, inputs: Audio) -> list[Segment]:
        samples = resample(inputs.samples, inputs.sample_rate, RATE)
        stamps = self._timestamps(samples, self._vad_options, sampling_rate=RATE)
        return [Segment(s["start"] / RATE, s["end"] / RATE) for s in stamps]
