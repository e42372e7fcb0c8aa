"""Audio health of generated speech: empty output, NaN/inf, clipping, DC offset, loudness, silences.

:func:`measure_health` observes one waveform (raw float samples, before any file conversion) and
returns plain numbers; :func:`health_gates` turns them into pass/fail gates under thresholds
that live in the task's YAML, so the same measurements can be re-gated later.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["AudioHealth", "HealthGates", "HealthOptions", "health_gates", "loudness_lufs", "measure_health"]


@dataclass
class HealthOptions:
    """How to measure (values in conf/task/<task>.yaml)."""

    frame_ms: float  # silence detection works on non-overlapping frames of this length
    silence_dbfs: float  # a frame whose RMS is below this level is silent
    clip_level: float  # |sample| at or above this counts as clipped


@dataclass
class HealthGates:
    """Pass/fail thresholds (values in conf/task/<task>.yaml)."""

    max_clipping_ratio: float
    max_abs_dc_offset: float
    min_lufs: float
    max_lufs: float
    max_leading_silence_s: float
    max_trailing_silence_s: float
    max_internal_silence_s: float


@dataclass
class AudioHealth:
    duration_s: float
    n_samples: int
    non_finite: int  # NaN or ±inf samples (set to 0 for the other measurements)
    peak: float | None  # max |sample|; None for no samples
    clipping_ratio: float  # fraction of samples with |x| >= clip_level
    dc_offset: float  # mean sample value
    lufs: float | None  # integrated loudness (ITU-R BS.1770, pyloudnorm); None if < 0.4 s or silent
    leading_silence_s: float | None  # None when nothing is voiced
    trailing_silence_s: float | None
    max_internal_silence_s: float | None  # longest silent run between the first and last voiced frame
    speech_s: float  # first voiced frame start to last voiced frame end

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def loudness_lufs(samples: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness in LUFS; None when the audio is shorter than one 400 ms block or silent."""
    import pyloudnorm

    if samples.size < int(0.4 * sample_rate):
        return None
    value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(samples.astype(np.float64)))
    return value if math.isfinite(value) else None


def _voiced_frames(samples: np.ndarray, frame_len: int, silence_dbfs: float) -> np.ndarray:
    n_frames = math.ceil(samples.size / frame_len)
    padded = np.zeros(n_frames * frame_len, dtype=np.float64)
    padded[: samples.size] = samples
    frames = padded.reshape(n_frames, frame_len)
    lengths = np.full(n_frames, frame_len, dtype=np.float64)
    lengths[-1] = samples.size - (n_frames - 1) * frame_len  # the last frame may be partial
    rms = np.sqrt(np.sum(frames**2, axis=1) / lengths)
    threshold = 10 ** (silence_dbfs / 20)
    return rms >= threshold


def measure_health(samples: np.ndarray, sample_rate: int, opts: HealthOptions) -> AudioHealth:
    """Measure one mono waveform of float samples nominally in [-1, 1]."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    n = int(x.size)
    finite = np.isfinite(x)
    non_finite = int(n - finite.sum())
    x = np.where(finite, x, 0.0)
    duration = n / sample_rate
    if n == 0:
        return AudioHealth(0.0, 0, 0, None, 0.0, 0.0, None, None, None, None, 0.0)
    frame_len = max(1, int(round(opts.frame_ms * sample_rate / 1000)))
    voiced = _voiced_frames(x, frame_len, opts.silence_dbfs)
    lead = trail = internal = None
    speech_s = 0.0
    if voiced.any():
        idx = np.flatnonzero(voiced)
        first, last = int(idx[0]), int(idx[-1])
        start = first * frame_len
        end = min((last + 1) * frame_len, n)
        lead = start / sample_rate
        trail = (n - end) / sample_rate
        speech_s = (end - start) / sample_rate
        gaps = np.diff(idx) - 1  # silent frames between consecutive voiced frames
        internal = float(gaps.max()) * frame_len / sample_rate if gaps.size else 0.0
    return AudioHealth(
        duration_s=duration,
        n_samples=n,
        non_finite=non_finite,
        peak=float(np.abs(x).max()),
        clipping_ratio=float(np.mean(np.abs(x) >= opts.clip_level)),
        dc_offset=float(x.mean()),
        lufs=loudness_lufs(x, sample_rate),
        leading_silence_s=lead,
        trailing_silence_s=trail,
        max_internal_silence_s=internal,
        speech_s=speech_s,
    )


def health_gates(health: dict[str, Any], gates: HealthGates) -> dict[str, bool | None]:
    """Gate name -> passed; None where a gate does not apply (no speech, too short for LUFS)."""
    h = health
    has_speech = h["n_samples"] > 0 and h["speech_s"] > 0

    def within(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    lufs = h.get("lufs")
    return {
        "gate_empty_output": has_speech,
        "gate_non_finite": h["non_finite"] == 0,
        "gate_clipping": h["clipping_ratio"] <= gates.max_clipping_ratio,
        "gate_dc_offset": abs(h["dc_offset"]) <= gates.max_abs_dc_offset,
        "gate_loudness": None if lufs is None else gates.min_lufs <= lufs <= gates.max_lufs,
        "gate_leading_silence": within(h["leading_silence_s"], gates.max_leading_silence_s),
        "gate_trailing_silence": within(h["trailing_silence_s"], gates.max_trailing_silence_s),
        "gate_internal_silence": within(h["max_internal_silence_s"], gates.max_internal_silence_s),
    }
