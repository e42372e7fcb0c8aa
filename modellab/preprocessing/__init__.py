"""Audio preprocessing applied before the model call, composable as a list of steps."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from modellab.audio import resample
from modellab.types import Audio

__all__ = ["AddNoise", "NormalizeLoudness", "Pipeline", "Resample", "Step", "TrimSilence"]


class Step:
    """One transformation of an :class:`Audio`. Subclasses are dataclasses (their fields are the params)."""

    def __call__(self, audio: Audio, seed: int) -> Audio:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"step": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass
class NormalizeLoudness(Step):
    """Scale to ``target_lufs`` integrated loudness (ITU-R BS.1770 via pyloudnorm)."""

    target_lufs: float

    def __call__(self, audio: Audio, seed: int) -> Audio:
        import pyloudnorm

        meter = pyloudnorm.Meter(audio.sample_rate)
        if audio.duration_s < 0.4:  # BS.1770 gating needs at least one 400 ms block
            return audio
        loudness = meter.integrated_loudness(audio.samples.astype(np.float64))
        if not np.isfinite(loudness):  # silence: nothing to scale
            return audio
        gain = 10.0 ** ((self.target_lufs - loudness) / 20.0)
        out = np.clip(audio.samples * gain, -1.0, 1.0).astype(np.float32)
        return Audio(out, audio.sample_rate)


@dataclass
class TrimSilence(Step):
    """Cut leading and trailing audio quieter than ``threshold_db`` below the peak, keeping ``pad_s``."""

    threshold_db: float
    pad_s: float

    def __call__(self, audio: Audio, seed: int) -> Audio:
        x = audio.samples
        if x.size == 0:
            return audio
        frame = max(1, int(0.01 * audio.sample_rate))
        n = len(x) // frame
        if n == 0:
            return audio
        rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
        level = 20 * np.log10(rms / (rms.max() + 1e-12) + 1e-12)
        voiced = np.flatnonzero(level > -abs(self.threshold_db))
        if voiced.size == 0:
            return audio
        pad = int(self.pad_s * audio.sample_rate)
        start = max(0, voiced[0] * frame - pad)
        end = min(len(x), (voiced[-1] + 1) * frame + pad)
        return Audio(x[start:end].copy(), audio.sample_rate)


@dataclass
class Resample(Step):
    """Round-trip through ``rate`` Hz (e.g. 8000 for telephone band), back to the input rate."""

    rate: int

    def __call__(self, audio: Audio, seed: int) -> Audio:
        low = resample(audio.samples, audio.sample_rate, self.rate)
        return Audio(resample(low, self.rate, audio.sample_rate), audio.sample_rate)


@dataclass
class AddNoise(Step):
    """Add white or pink noise at ``snr_db`` relative to the signal power (seeded per sample)."""

    snr_db: float
    color: str

    def __call__(self, audio: Audio, seed: int) -> Audio:
        x = audio.samples.astype(np.float64)
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal(len(x))
        if self.color == "pink":
            spectrum = np.fft.rfft(noise)
            freqs = np.arange(len(spectrum), dtype=np.float64)
            freqs[0] = 1.0
            noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=len(x))
        elif self.color != "white":
            raise ValueError(f"AddNoise: color must be 'white' or 'pink', got {self.color!r}")
        p_signal = float(np.mean(x**2))
        p_noise = float(np.mean(noise**2)) or 1.0
        if p_signal == 0.0:
            return audio
        noise *= np.sqrt(p_signal / (p_noise * 10 ** (self.snr_db / 10.0)))
        return Audio(np.clip(x + noise, -1.0, 1.0).astype(np.float32), audio.sample_rate)


class Pipeline:
    """A named list of steps; ``steps`` arrive already instantiated by Hydra."""

    def __init__(self, name: str, steps: list[Step] | None = None, _target_: str | None = None) -> None:
        self.name = name
        self.steps = list(steps or [])

    def __call__(self, audio: Audio, seed: int = 0) -> Audio:
        for step in self.steps:
            audio = step(audio, seed)
        return audio

    def identity(self) -> list[dict[str, Any]]:
        return [step.describe() for step in self.steps]

    def identity_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]
