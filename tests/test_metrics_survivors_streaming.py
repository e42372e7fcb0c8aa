"""Tests that kill the mutants of ``modellab/metrics/streaming.py`` the older tests let survive (see
docs/testing.md, "Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.metrics.streaming import partial_lag, revisions, speech_bounds


def test_one_sample_frames() -> None:
    # frame_s 0.1 at 10 Hz: 1-sample frames; only sample 3 is loud -> [0.3, 0.4)
    assert speech_bounds(np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0]), 10, 0.1, -20.0) == pytest.approx((0.3, 0.4))


def test_audio_shorter_than_one_frame_has_no_bounds_and_one_frame_has() -> None:
    assert speech_bounds(np.full(3, 0.5), 10, 0.5, -20.0) is None  # 3 samples, 5-sample frames: no whole frame
    assert speech_bounds(np.full(5, 0.5), 10, 0.5, -20.0) == pytest.approx((0.0, 0.5))


def test_a_frame_exactly_at_the_threshold_is_speech() -> None:
    # threshold 0 dB: exactly the loudest frames (RMS equal to the peak) are speech -> frames 1 and 2 of 4
    assert speech_bounds(np.array([0.0, 1.0, 1.0, 0.0]), 4, 0.25, 0.0) == pytest.approx((0.25, 0.75))


def test_the_threshold_is_decibels_of_amplitude_below_the_peak() -> None:
    # 1-s frames at 1 Hz; -20 dB below a peak of 1.0 is 0.1: 0.095 is below it, 0.105 above -> frames 1-2
    samples = np.array([0.095, 1.0, 0.105, 0.0])
    assert speech_bounds(samples, 1, 1.0, -20.0) == pytest.approx((1.0, 3.0))


def test_a_shorter_hypothesis_that_is_a_prefix_revises_the_dropped_words() -> None:
    # "a b" -> "a": 2 emitted, then "b" taken back (common prefix 1)
    rev = revisions(["a b", "a"])
    assert (rev.emitted, rev.revised) == (2, 1)


def test_partial_lag_leaves_out_the_final_event() -> None:
    events = [
        {"t": 1.25, "audio_s": 1.0, "text": "a", "committed": 0},  # lag 0.25
        {"t": 2.75, "audio_s": 2.0, "text": "a b", "committed": 1},  # lag 0.75
        {"t": 5.0, "audio_s": 2.0, "text": "a b", "committed": 2, "final": True},  # lag 3.0, not a partial
    ]
    assert partial_lag(events) == pytest.approx(0.5)  # (0.25 + 0.75) / 2
    assert partial_lag(events[-1:]) is None  # only the final event: no partial
    assert partial_lag([]) is None
