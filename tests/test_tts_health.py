"""Audio health measurements and gates on hand-built waveforms with hand-computed expected values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modellab.metrics.audio_health import HealthGates, HealthOptions, health_gates, loudness_lufs, measure_health

# 1 kHz sample rate and 10 ms frames: one frame = 10 samples, easy to count by hand.
OPTS = HealthOptions(frame_ms=10, silence_dbfs=-50.0, clip_level=0.999)
GATES = HealthGates(
    max_clipping_ratio=0.001,
    max_abs_dc_offset=0.01,
    min_lufs=-35.0,
    max_lufs=-8.0,
    max_leading_silence_s=0.75,
    max_trailing_silence_s=0.75,
    max_internal_silence_s=1.5,
)


def _tone(n: int, amplitude: float = 0.5) -> np.ndarray:
    """A ±amplitude square wave (RMS = amplitude, mean 0 for even n)."""
    return amplitude * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def test_leading_trailing_and_internal_silence_are_counted_in_frames() -> None:
    # 50 silent | 100 voiced | 30 silent | 100 voiced | 20 silent  (samples at 1 kHz)
    x = np.concatenate([np.zeros(50), _tone(100), np.zeros(30), _tone(100), np.zeros(20)])
    h = measure_health(x, 1000, OPTS)
    assert h.n_samples == 300 and h.duration_s == pytest.approx(0.3)
    assert h.leading_silence_s == pytest.approx(0.050)  # frames 0-4
    assert h.trailing_silence_s == pytest.approx(0.020)  # frames 28-29
    assert h.max_internal_silence_s == pytest.approx(0.030)  # frames 15-17
    assert h.speech_s == pytest.approx(0.230)  # sample 50 to sample 280
    assert h.dc_offset == pytest.approx(0.0)
    assert h.peak == pytest.approx(0.5)
    assert h.non_finite == 0 and h.clipping_ratio == 0.0


def test_silence_has_frame_resolution() -> None:
    # 55 silent samples: frame 5 holds 5 silent + 5 voiced samples (RMS 0.35, voiced), so 50 ms.
    x = np.concatenate([np.zeros(55), _tone(100)])
    h = measure_health(x, 1000, OPTS)
    assert h.leading_silence_s == pytest.approx(0.050)
    assert h.trailing_silence_s == pytest.approx(0.0)
    assert h.max_internal_silence_s == 0.0


def test_quiet_frames_below_the_threshold_count_as_silence() -> None:
    quiet = _tone(40, amplitude=10 ** (-60 / 20))  # -60 dBFS RMS < -50 dBFS threshold
    h = measure_health(np.concatenate([quiet, _tone(60)]), 1000, OPTS)
    assert h.leading_silence_s == pytest.approx(0.040)


def test_dc_offset_clipping_and_non_finite_samples() -> None:
    x = _tone(1000) + 0.1  # mean 0.1
    h = measure_health(x, 1000, OPTS)
    assert h.dc_offset == pytest.approx(0.1)

    y = _tone(1000)
    y[[0, 1, 2]] = 1.0
    y[[3, 4]] = -1.0
    y[5] = 1.2  # an over counts as clipped too
    h = measure_health(y, 1000, OPTS)
    assert h.clipping_ratio == pytest.approx(6 / 1000)
    assert h.peak == pytest.approx(1.2)

    z = _tone(1000)
    z[[10, 20]] = np.nan
    z[30] = np.inf
    h = measure_health(z, 1000, OPTS)
    assert h.non_finite == 3
    assert h.peak == pytest.approx(0.5)  # non-finite samples are zeroed for the other measures
    assert math.isfinite(h.dc_offset)


def test_lufs_of_a_full_scale_997_hz_sine_is_minus_3_01() -> None:
    # ITU-R BS.1770: a 0 dBFS 997 Hz sine on one channel reads -3.01 LUFS; -6.02 dB lower at half amplitude.
    sr = 48_000
    t = np.arange(3 * sr) / sr
    sine = np.sin(2 * np.pi * 997 * t)
    assert loudness_lufs(sine, sr) == pytest.approx(-3.01, abs=0.05)
    assert loudness_lufs(0.5 * sine, sr) == pytest.approx(-9.03, abs=0.05)
    assert loudness_lufs(sine[: int(0.3 * sr)], sr) is None  # shorter than one 400 ms block
    assert loudness_lufs(np.zeros(sr), sr) is None  # silence has no loudness


def test_empty_and_all_silent_outputs_fail_only_the_empty_gate() -> None:
    empty = measure_health(np.zeros(0), 1000, OPTS).as_dict()
    gates = health_gates(empty, GATES)
    assert gates["gate_empty_output"] is False
    assert gates["gate_leading_silence"] is None and gates["gate_internal_silence"] is None
    assert gates["gate_loudness"] is None

    silent = measure_health(np.zeros(2000), 1000, OPTS)
    assert silent.speech_s == 0.0 and silent.leading_silence_s is None
    assert health_gates(silent.as_dict(), GATES)["gate_empty_output"] is False


def test_gates_apply_the_thresholds_inclusively() -> None:
    h = {
        "n_samples": 16000,
        "speech_s": 1.0,
        "non_finite": 0,
        "clipping_ratio": 0.001,  # == max: passes
        "dc_offset": -0.02,  # |.| > 0.01: fails
        "lufs": -36.0,  # < -35: fails
        "leading_silence_s": 0.75,  # == max: passes
        "trailing_silence_s": 0.8,  # fails
        "max_internal_silence_s": 1.0,
    }
    assert health_gates(h, GATES) == {
        "gate_empty_output": True,
        "gate_non_finite": True,
        "gate_clipping": True,
        "gate_dc_offset": False,
        "gate_loudness": False,
        "gate_leading_silence": True,
        "gate_trailing_silence": False,
        "gate_internal_silence": True,
    }
    assert health_gates({**h, "non_finite": 1}, GATES)["gate_non_finite"] is False
