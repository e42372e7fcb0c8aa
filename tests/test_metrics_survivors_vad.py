"""Tests that kill the mutants of ``modellab/metrics/vad.py`` the older tests let survive (see docs/testing.md,
"Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

from modellab.metrics.vad import FrameCounts, to_frames


def test_a_frame_whose_centre_is_exactly_the_segment_start_is_speech() -> None:
    # 0.5 s frames of a 2 s file: centres 0.25, 0.75, 1.25, 1.75 (exact in binary). [0.75, 1.5) holds the
    # centres 0.75 (on the start: inside, the interval is closed there) and 1.25; 1.75 is past the end.
    assert to_frames([(0.75, 1.5)], 2.0, 0.5).nonzero()[0].tolist() == [1, 2]


def test_a_frame_whose_centre_is_exactly_the_segment_end_is_not_speech() -> None:
    # [0.25, 1.25) is half-open: centre 0.25 is in, centre 1.25 is out -> frames 0 and 1.
    assert to_frames([(0.25, 1.25)], 2.0, 0.5).nonzero()[0].tolist() == [0, 1]


def test_adding_counts_adds_every_field() -> None:
    pooled = FrameCounts(1, 2, 3, 4) + FrameCounts(10, 20, 30, 40)
    assert pooled == FrameCounts(true_positive=11, false_positive=22, false_negative=33, true_negative=44)
    # the rates of the sum: precision 11 / 33, false alarm 22 / 66
    assert pooled.precision == 11 / 33 and pooled.false_alarm_rate == 22 / 66
