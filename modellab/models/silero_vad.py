"""Silero VAD from the ``silero-vad`` package (which ships the model), TorchScript or ONNX."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from modellab.audio import resample
from modellab.models.base import VADModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Segment

__all__ = ["SileroVAD", "SileroVADOptions", "torch_threads"]

SILERO_RATE = 16_000


@dataclass
class SileroVADOptions:
    onnx: bool  # false: the TorchScript (jit) model; true: the ONNX one (onnxruntime)
    threshold: float  # speech probability above which a 32 ms window is speech
    neg_threshold: float | None  # below this speech ends (null: threshold - 0.15)
    min_speech_duration_ms: int
    min_silence_duration_ms: int
    speech_pad_ms: int
    max_speech_duration_s: float | None  # null: no limit
    intra_op_threads: int  # torch threads inside the call (the model steps through 32 ms windows one by one)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, then restore the device's setting.

    Tiny per-window models (Silero steps through 32 ms windows) gain nothing from intra-op
    threads and lose a lot to their synchronisation: measured 10-30x slower at 2 threads than
    at 1 on a busy 2-core machine.
    """
    import torch

    before = torch.get_num_threads()
    if n > 0 and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class SileroVAD(VADModel):
    Options = SileroVADOptions

    def load(self) -> None:
        from silero_vad import get_speech_timestamps, load_silero_vad

        resolve_weights(self.weights, self.name)  # a clear error if the package is missing
        self.model = load_silero_vad(onnx=self.options.onnx)
        self._timestamps = get_speech_timestamps

    def predict(self, inputs: Audio) -> list[Segment]:
        import torch

        o = self.options
        samples = resample(inputs.samples, inputs.sample_rate, SILERO_RATE)
        with torch_threads(o.intra_op_threads):
            stamps = self._timestamps(
                torch.from_numpy(samples),
                self.model,
                threshold=o.threshold,
                neg_threshold=o.neg_threshold,
                sampling_rate=SILERO_RATE,
                min_speech_duration_ms=o.min_speech_duration_ms,
                min_silence_duration_ms=o.min_silence_duration_ms,
                speech_pad_ms=o.speech_pad_ms,
                max_speech_duration_s=o.max_speech_duration_s if o.max_speech_duration_s is not None else float("inf"),
            )
        return [Segment(s["start"] / SILERO_RATE, s["end"] / SILERO_RATE) for s in stamps]
