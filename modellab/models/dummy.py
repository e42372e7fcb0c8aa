"""Dummy adapters for tests and for trying the lab without weights. Deterministic, instant."""

from __future__ import annotations

import time
from dataclasses import dataclass

from modellab.models.base import ASRModel
from modellab.types import Audio, Transcript

__all__ = ["ConstantASR", "ConstantASROptions"]


@dataclass
class ConstantASROptions:
    text: str  # what it "hears" in every input
    delay_s: float  # simulated compute time per call (for fault-injection tests)


class ConstantASR(ASRModel):
    """Says ``options.text`` for any audio that is not silent; nothing for silence."""

    Options = ConstantASROptions

    def load(self) -> None:
        self.calls = 0

    def predict(self, inputs: Audio) -> Transcript:
        self.calls += 1
        if self.options.delay_s:
            time.sleep(self.options.delay_s)
        silent = inputs.samples.size == 0 or float(abs(inputs.samples).max()) < 1e-3
        text = "" if silent else self.options.text
        segments = [] if silent else [{"start": 0.0, "end": inputs.duration_s, "text": text}]
        return Transcript(text=text, segments=segments, language="en")
