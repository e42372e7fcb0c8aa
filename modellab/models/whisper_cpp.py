"""whisper.cpp through the pywhispercpp binding (ggml model files)."""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellab.models.base import ASRModel
from modellab.models.weights import WeightsNotFoundError, resolve_weights
from modellab.types import SAMPLE_RATE, Audio, Transcript

__all__ = ["WhisperCppModel", "WhisperCppOptions"]


@dataclass
class WhisperCppOptions:
    language: str | None  # null: detect
    task: str  # transcribe | translate (to English)
    beam_size: int | None  # null: greedy decoding
    temperature: float
    temperature_inc: float  # fallback step when a decode fails its thresholds (0: no fallback)
    max_tokens: int  # per segment (0: no limit)
    no_context: bool  # do not condition on the previous window's text


class WhisperCppModel(ASRModel):
    """``pywhispercpp.model.Model(<ggml file>)``; threads come from the device config."""

    Options = WhisperCppOptions

    def model_file(self) -> Path:
        path = Path(resolve_weights(self.weights, self.name))
        if path.is_dir():
            path = path / f"ggml-{self.weights.revision}.bin"
        if not path.is_file():
            raise WeightsNotFoundError(
                f"model '{self.name}': no ggml file at {path}. Convert an openai-whisper checkpoint offline with "
                f"python -m modellab.tools.ggml <model.pt> {path}, or point model.weights.path at a ggml file"
            )
        return path

    def params(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {
            "language": o.language or "auto",
            "translate": o.task == "translate",
            "temperature": o.temperature,
            "temperature_inc": o.temperature_inc,
            "max_tokens": o.max_tokens,
            "no_context": o.no_context,
            "n_threads": self.device.threads,
            "print_progress": False,
            "print_realtime": False,
            "print_timestamps": False,
        }
        if o.beam_size:
            params["beam_search"] = {"beam_size": o.beam_size, "patience": -1.0}
        return params

    def load(self) -> None:
        import logging

        from pywhispercpp.model import Model as WhisperCpp

        logging.getLogger("pywhispercpp").setLevel(logging.WARNING)

        self.model = WhisperCpp(
            str(self.model_file()),
            params_sampling_strategy=1 if self.options.beam_size else 0,
            redirect_whispercpp_logs_to=None,
            **self.params(),
        )
        atexit.register(_free_context, self.model)

    def predict(self, inputs: Audio) -> Transcript:
        import numpy as np

        from modellab.models.hf_common import as_rate

        samples = np.ascontiguousarray(as_rate(inputs, SAMPLE_RATE))
        duration = len(samples) / SAMPLE_RATE
        raw = self.model.transcribe(samples)
        segments = []
        for seg in raw:
            start = min(max(seg.t0 / 100.0, 0.0), duration)  # whisper.cpp times are in 10 ms units
            end = min(max(seg.t1 / 100.0, start), duration)
            segments.append({"start": start, "end": end, "text": seg.text.strip()})
        text = "".join(seg.text for seg in raw).strip()
        return Transcript(text=text, segments=segments, language=self.options.language)


def _free_context(model: Any) -> None:
    """Free whisper.cpp's context while the interpreter is still whole: pywhispercpp's ``__del__``
    otherwise runs at shutdown, after its module globals are gone, and prints a TypeError."""
    if getattr(model, "_ctx", None) is not None:
        model.__del__()
        model._ctx = None
