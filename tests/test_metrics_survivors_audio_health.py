"""Tests that kill the mutants of ``modellab/metrics/audio_health.py`` the older tests let survive (see
docs/testing.md, "Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.metrics.audio_health import AudioHealth, HealthOptions, health_gates, measure_health
from tests.test_tts_health import GATES, OPTS  # 10-sample frames at 1 kHz, the gates counted by hand there


def _square(n: int, amplitude: float) -> np.ndarray:
    """±amplitude, alternating: RMS = amplitude over any even number of samples."""
    return amplitude * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def _sine(seconds: float, sample_rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return np.sin(2 * np.pi * 997 * t)


def test_empty_output_has_every_measure_at_its_empty_value() -> None:
    h = measure_health(np.zeros(0), 1000, OPTS)
    assert h == AudioHealth(
        duration_s=0.0,
        n_samples=0,
        non_finite=0,
        peak=None,
        clipping_ratio=0.0,
        dc_offset=0.0,
        lufs=None,
        leading_silence_s=None,
        trailing_silence_s=None,
        max_internal_silence_s=None,
        speech_s=0.0,
    )


def test_a_partial_last_frame_is_measured_over_its_own_samples() -> None:
    # 100 silent samples (frames 0-9), then 5 samples of ±0.004 in the partial frame 10: RMS over its 5
    # samples 0.004 >= -50 dBFS (0.00316), voiced; over 10 samples it would be 0.0028, silent.
    h = measure_health(np.concatenate([np.zeros(100), _square(5, 0.004)]), 1000, OPTS)
    assert h.leading_silence_s == pytest.approx(0.100)
    assert h.trailing_silence_s == 0.0  # the voiced frame ends at the last sample (105), not at 110
    assert h.speech_s == pytest.approx(0.005)
    assert h.max_internal_silence_s == 0.0  # a single voiced frame has no gap


@pytest.mark.parametrize(("level_dbfs", "voiced"), [(-49.0, True), (-51.0, False)])
def test_the_silence_threshold_is_the_dbfs_level_as_an_amplitude(level_dbfs: float, voiced: bool) -> None:
    # -50 dBFS is an RMS of 10 ** (-50 / 20) = 0.00316; -49 dBFS (0.00355) is above it, -51 dBFS (0.00282) below
    quiet = _square(20, 10 ** (level_dbfs / 20))
    h = measure_health(np.concatenate([quiet, _square(20, 0.5)]), 1000, OPTS)
    assert h.leading_silence_s == (0.0 if voiced else pytest.approx(0.020))


def test_a_frame_exactly_at_the_threshold_is_voiced() -> None:
    # 0 dBFS is an RMS of exactly 1.0, which a full-scale square wave has exactly
    opts = HealthOptions(frame_ms=10, silence_dbfs=0.0, clip_level=2.0)
    h = measure_health(np.concatenate([np.zeros(10), _square(10, 1.0)]), 1000, opts)
    assert h.leading_silence_s == pytest.approx(0.010) and h.speech_s == pytest.approx(0.010)


def test_one_sample_frames() -> None:
    # frame_ms 1 at 1 kHz: 1-sample frames; voiced samples 2 and 4 of 7
    opts = HealthOptions(frame_ms=1, silence_dbfs=-50.0, clip_level=0.999)
    h = measure_health(np.array([0.0, 0.0, 0.5, 0.0, 0.5, 0.0, 0.0]), 1000, opts)
    assert h.leading_silence_s == pytest.approx(0.002)
    assert h.trailing_silence_s == pytest.approx(0.002)  # samples 5 and 6
    assert h.max_internal_silence_s == pytest.approx(0.001)  # sample 3
    assert h.speech_s == pytest.approx(0.003)


def test_the_frame_length_rounds_milliseconds_times_rate() -> None:
    # 20 ms at 48 kHz = 960 samples: 960 silent samples are exactly one silent frame, 20 ms of leading silence
    opts = HealthOptions(frame_ms=20, silence_dbfs=-50.0, clip_level=0.999)
    h = measure_health(np.concatenate([np.zeros(960), _square(1920, 0.5)]), 48_000, opts)
    assert h.leading_silence_s == pytest.approx(0.020, rel=1e-9)


def test_a_column_vector_is_measured_as_mono() -> None:
    x = np.concatenate([np.zeros(50), _square(50, 0.5)])
    assert measure_health(x.reshape(-1, 1), 1000, OPTS) == measure_health(x, 1000, OPTS)


def test_float32_input_is_measured_in_double_precision() -> None:
    # in float32, 1 + 1e-8 rounds to 1 and the mean would be 0; in float64 it is float32(1e-8) / 3
    h = measure_health(np.array([1.0, 1e-8, -1.0], dtype=np.float32), 1000, OPTS)
    assert h.dc_offset == pytest.approx(float(np.float32(1e-8)) / 3, rel=1e-6)


def test_measure_health_reports_the_loudness_of_a_one_second_sine() -> None:
    # a 0 dBFS 997 Hz sine reads -3.01 LUFS (ITU-R BS.1770); one second is more than one 400 ms block
    assert measure_health(_sine(1.0), 48_000, OPTS).lufs == pytest.approx(-3.01, abs=0.05)


def test_loudness_of_exactly_one_block() -> None:
    from modellab.metrics.audio_health import loudness_lufs

    assert loudness_lufs(_sine(0.4), 48_000) == pytest.approx(-3.01, abs=0.05)  # 19200 samples: one block
    assert loudness_lufs(_sine(0.4)[:-1], 48_000) is None


def test_a_sample_exactly_at_the_clip_level_is_clipped() -> None:
    x = _square(100, 0.5)
    x[:2] = [0.999, -0.999]
    assert measure_health(x, 1000, OPTS).clipping_ratio == pytest.approx(2 / 100)


def test_a_single_voiced_sample_is_not_empty_output() -> None:
    h = measure_health(np.array([0.5]), 1000, OPTS)
    assert h.speech_s == pytest.approx(0.001)
    assert health_gates(h.as_dict(), GATES)["gate_empty_output"] is True


def test_dc_offset_and_loudness_gates_include_their_limits() -> None:
    base = {
        "n_samples": 1000,
        "speech_s": 1.0,
        "non_finite": 0,
        "clipping_ratio": 0.0,
        "leading_silence_s": 0.0,
        "trailing_silence_s": 0.0,
        "max_internal_silence_s": 0.0,
    }
    for dc, lufs in [(0.01, -35.0), (-0.01, -8.0)]:
        gates = health_gates({**base, "dc_offset": dc, "lufs": lufs}, GATES)
        assert gates["gate_dc_offset"] is True and gates["gate_loudness"] is True
