"""VAD metrics against hand-computed values, and against pyannote.metrics where they coincide."""

from __future__ import annotations

import pytest

from modellab.metrics.vad import FrameCounts, boundary_errors, frame_counts, merge_segments, speech_duration, to_frames
from modellab.tasks.vad import VADGateOptions, vad_gates


def test_merge_and_duration() -> None:
    assert merge_segments([(3, 4), (0, 1), (0.5, 2), (2, 2.5), (5, 5)]) == [(0.0, 2.5), (3.0, 4.0)]
    assert speech_duration([(0, 1), (0.5, 2)]) == pytest.approx(2.0)


def test_frames_use_frame_centres() -> None:
    # 10 frames of 0.1 s, centres 0.05 .. 0.95: [0.2, 0.6) covers centres 0.25, 0.35, 0.45, 0.55.
    assert to_frames([(0.2, 0.6)], 1.0, 0.1).nonzero()[0].tolist() == [2, 3, 4, 5]


def test_frame_counts_hand_computed() -> None:
    # ref frames 2-5, hyp frames 3-7: TP 3 (3,4,5), FP 2 (6,7), FN 1 (2), TN 4.
    c = frame_counts([(0.2, 0.6)], [(0.3, 0.8)], 1.0, 0.1)
    assert (c.true_positive, c.false_positive, c.false_negative, c.true_negative) == (3, 2, 1, 4)
    assert c.precision == pytest.approx(3 / 5)
    assert c.recall == pytest.approx(3 / 4)
    assert c.f1 == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert c.detection_error_rate == pytest.approx((2 + 1) / 4)
    assert c.miss_rate == pytest.approx(1 / 4)
    assert c.false_alarm_rate == pytest.approx(2 / 6)


def test_counts_pool_by_summing_frames() -> None:
    a = FrameCounts(3, 2, 1, 4)
    b = FrameCounts(0, 0, 5, 0)
    pooled = a + b
    assert pooled.recall == pytest.approx(3 / 9)  # not the mean of 0.75 and 0.0
    assert FrameCounts().f1 is None and FrameCounts().detection_error_rate is None


def test_no_speech_reference_has_no_recall_but_counts_false_alarms() -> None:
    c = frame_counts([], [(0.0, 0.5)], 1.0, 0.01)
    assert c.recall is None and c.detection_error_rate is None
    assert c.false_alarm_rate == pytest.approx(0.5)


def test_boundary_errors_hand_computed() -> None:
    # onsets 0.2 -> 0.3 (0.1), offsets 0.6 -> 0.8 (0.2)
    assert boundary_errors([(0.2, 0.6)], [(0.3, 0.8)]) == pytest.approx([0.1, 0.2])
    errs = boundary_errors([(0.2, 0.6), (2.0, 3.0)], [(0.3, 0.8), (2.05, 2.9)])
    assert errs == pytest.approx([0.1, 0.05, 0.2, 0.1])
    assert boundary_errors([(0, 1)], []) == []


def test_frame_detection_error_matches_pyannote_metrics_on_the_grid() -> None:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.detection import DetectionErrorRate

    ref, hyp = [(1.0, 2.5), (3.0, 4.0)], [(1.2, 2.0), (2.2, 4.5)]
    # FA 0.5 + 0.5, miss 0.2 + 0.2, reference speech 2.5 -> 1.4 / 2.5
    ours = frame_counts(ref, hyp, 5.0, 0.01).detection_error_rate
    r, h = Annotation(), Annotation()
    for s, e in ref:
        r[Segment(s, e)] = "speech"
    for s, e in hyp:
        h[Segment(s, e)] = "speech"
    theirs = DetectionErrorRate()(r, h, uem=Timeline([Segment(0, 5)]))
    assert ours == pytest.approx(1.4 / 2.5) and theirs == pytest.approx(1.4 / 2.5)


def test_gates() -> None:
    g = VADGateOptions(silence_dbfs=-50.0, max_speech_ratio_silence=0.05, max_segments_per_min=60.0)
    assert vad_gates([], 4.0, True, g) == {"gate_valid_segments": True, "gate_silence": True, "gate_segment_rate": True}
    noisy = vad_gates([(0.0, 1.0)], 4.0, True, g)
    assert noisy["gate_silence"] is False
    assert vad_gates([(0.0, 1.0)], 4.0, False, g)["gate_silence"] is None
    flicker = [(i * 0.1, i * 0.1 + 0.05) for i in range(40)]  # 40 segments in 4 s = 600 per minute
    assert vad_gates(flicker, 4.0, False, g)["gate_segment_rate"] is False
    assert vad_gates([(1.0, 2.0), (1.5, 3.0)], 4.0, False, g)["gate_valid_segments"] is False
    assert vad_gates([(3.0, 5.0)], 4.0, False, g)["gate_valid_segments"] is False


# --- pyannote.core / pyannote.metrics: the same union, a different (continuous) time base ----------------

GOLDEN_VAD_SETS = ("vad_golden_synth_v1", "diar_golden_call_v1", "diar_golden_synth_v1")


def _support(segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    from pyannote.core import Segment, Timeline

    return [(s.start, s.end) for s in Timeline([Segment(a, b) for a, b in segments]).support()]


def test_merge_is_pyannote_timeline_support_on_hand_made_cases() -> None:
    # unsorted, overlapping, touching (2.0 | 2.0), nested and zero-length segments
    segments = [(3.0, 4.0), (0.0, 1.0), (0.5, 2.0), (2.0, 2.5), (3.2, 3.5), (5.0, 5.0)]
    assert merge_segments(segments) == _support(segments) == [(0.0, 2.5), (3.0, 4.0)]
    assert merge_segments([]) == _support([]) == []


@pytest.mark.parametrize("name", GOLDEN_VAD_SETS)
def test_merge_and_speech_duration_equal_pyannote_on_the_golden_references(name: str) -> None:
    """The golden sets' RTTM references merge to exactly pyannote's Timeline.support() (bit for bit)."""
    from pyannote.core import Segment, Timeline

    from modellab.config.registry import load_component
    from modellab.tasks.diarization import reference_turns

    checked = 0
    for sample in load_component("dataset", name).samples():
        turns = reference_turns(sample, sample.duration_s or 1e9)
        if turns is None:
            continue
        raw = [(t.start, t.end) for t in turns]
        assert merge_segments(raw) == _support(raw), sample.sample_id
        assert speech_duration(raw) == Timeline([Segment(a, b) for a, b in raw]).support().duration()
        checked += 1
    assert checked > 0


def test_frame_scores_differ_from_pyannote_off_the_frame_grid() -> None:
    """Why the frame scores stay ours: pyannote.metrics scores continuous time, we score frames.

    ref [0, 0.105) and hyp [0, 0.1) on 10 ms frames: frame centres 0.005 .. 0.095 are speech on both
    sides (0.105 is not below 0.105), so our DER is 0; in continuous time 5 ms of the 105 ms are missed.
    """
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.detection import DetectionErrorRate

    ref, hyp = [(0.0, 0.105)], [(0.0, 0.1)]
    assert frame_counts(ref, hyp, 1.0, 0.01).detection_error_rate == 0.0
    r, h = Annotation(), Annotation()
    r[Segment(*ref[0])], h[Segment(*hyp[0])] = "speech", "speech"
    assert DetectionErrorRate()(r, h, uem=Timeline([Segment(0, 1.0)])) == pytest.approx(0.005 / 0.105)
