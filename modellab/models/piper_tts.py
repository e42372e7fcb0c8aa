"""Piper (piper-tts, ONNX Runtime) with a voice shipped as a Python package. piper-tts is GPL-3.0:
it lives in the optional ``piper`` extra and is imported only in :meth:`PiperTTS.load`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modellab.models.base import TTSModel
from modellab.models.weights import WeightsNotFoundError, resolve_weights
from modellab.types import Audio

__all__ = ["PiperTTS", "PiperOptions"]


@dataclass
class PiperOptions:
    length_scale: float | None  # phoneme duration scale (>1 slower); null: the voice's own
    noise_scale: float | None  # generator noise; null: the voice's own
    noise_w_scale: float | None  # phoneme width noise; null: the voice's own
    volume: float  # output gain after peak normalisation
    normalize_audio: bool  # scale each sentence to full range (Piper's default)
    sentence_silence_s: float  # pause inserted between sentences
    speaker_id: int | None  # multi-speaker voices only


class PiperTTS(TTSModel):
    """Synthesises sentence by sentence: :meth:`stream` yields audio as each sentence is ready."""

    Options = PiperOptions

    def load(self) -> None:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig, SynthesisConfig

        model_path = Path(resolve_weights(self.weights, self.name))
        config_path = Path(f"{model_path}.json")
        if not config_path.exists():
            raise WeightsNotFoundError(f"model '{self.name}': voice config {config_path} is missing next to the model")
        providers = ["CUDAExecutionProvider"] if self.device.kind == "cuda" else ["CPUExecutionProvider"]
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=self.device.onnx_session_options(), providers=providers
        )
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        self.voice = PiperVoice(config=config, session=session)
        o = self.options
        self.synthesis = SynthesisConfig(
            speaker_id=o.speaker_id,
            length_scale=o.length_scale,
            noise_scale=o.noise_scale,
            noise_w_scale=o.noise_w_scale,
            normalize_audio=o.normalize_audio,
            volume=o.volume,
        )
        self.sample_rate = int(config.sample_rate)

    def stream(self, text: str) -> Iterator[Audio]:
        pause = np.zeros(int(self.options.sentence_silence_s * self.sample_rate), dtype=np.float32)
        for i, chunk in enumerate(self.voice.synthesize(text, syn_config=self.synthesis)):
            samples = chunk.audio_float_array.astype(np.float32, copy=False)
            if i and pause.size:
                samples = np.concatenate([pause, samples])
            yield Audio(samples, int(chunk.sample_rate))

    def predict(self, inputs: str) -> Audio:
        chunks = [c.samples for c in self.stream(inputs)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return Audio(samples, self.sample_rate)
