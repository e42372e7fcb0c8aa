"""DER/JER (pyannote.metrics) against hand-computed values; collar and overlap conventions; RTTM I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from modellab.metrics.diarization import DiarizationScorer, RTTMError, read_rttm, write_rttm
from modellab.types import SpeakerTurn as T


def test_confusion_and_jer_hand_computed() -> None:
    ref = [T(0, 10, "A"), T(10, 20, "B")]
    hyp = [T(0, 12, "x"), T(12, 20, "y")]
    s = DiarizationScorer(collar_s=0.0, skip_overlap=False).add(ref, hyp, 20.0)
    assert s.der == pytest.approx(2 / 20)  # 10-12 s said by A, attributed to B's match
    assert (s.missed, s.false_alarm, s.confusion, s.total) == pytest.approx((0, 0, 2, 20))
    # JER: A vs x: 1 - 10/12; B vs y: 1 - 8/10; mean over reference speakers
    assert s.jer == pytest.approx(((1 - 10 / 12) + (1 - 8 / 10)) / 2)
    assert (s.ref_speakers, s.hyp_speakers) == (2, 2)


def test_collar_is_total_width() -> None:
    ref = [T(0, 10, "A"), T(10, 20, "B")]
    hyp = [T(0, 12, "x"), T(12, 20, "y")]
    s = DiarizationScorer(collar_s=1.0, skip_overlap=False).add(ref, hyp, 20.0)
    # 0.5 s each side of boundaries 0, 10, 20 leaves 20 - (0.5 + 1 + 0.5) = 18 s; confusion 10.5-12
    assert s.total == pytest.approx(18.0)
    assert s.der == pytest.approx(1.5 / 18)


def test_overlap_scored_or_skipped() -> None:
    ref = [T(0, 5, "A"), T(3, 6, "B")]  # both speak in 3-5
    hyp = [T(0, 6, "x")]  # x maps to A
    full = DiarizationScorer(0.0, skip_overlap=False).add(ref, hyp, 6.0)
    # 8 speaker-seconds; B missed in 3-5 (2 s); 5-6 B said, x=A: confusion 1 s
    assert (full.missed, full.confusion, full.total) == pytest.approx((2, 1, 8))
    assert full.der == pytest.approx(3 / 8)
    skip = DiarizationScorer(0.0, skip_overlap=True).add(ref, hyp, 6.0)
    assert skip.total == pytest.approx(4) and skip.der == pytest.approx(1 / 4)


def test_false_alarm_and_pooling() -> None:
    scorer = DiarizationScorer(0.0, False)
    a = scorer.add([T(0, 2, "A")], [T(0, 3, "x")], 4.0)
    assert a.false_alarm == pytest.approx(1) and a.der == pytest.approx(0.5)
    b = scorer.add([T(0, 8, "A")], [T(0, 8, "x")], 8.0)
    assert b.der == pytest.approx(0.0)
    assert scorer.pooled().der == pytest.approx(1 / 10)  # pooled, not mean(0.5, 0.0)


def test_no_speech_reference_has_no_der() -> None:
    scorer = DiarizationScorer(0.0, False)
    s = scorer.add([], [T(0, 1, "x")], 2.0)
    assert s.der is None and s.hyp_speakers == 1
    assert scorer.pooled() is None


def test_rttm_round_trip(tmp_path: Path) -> None:
    turns = [T(1.25, 2.5, "alice"), T(0.0, 1.0, "bob")]
    path = write_rttm(turns, tmp_path / "x.rttm", uri="x")
    assert path.read_text().splitlines()[0] == "SPEAKER x 1 0.000 1.000 <NA> <NA> bob <NA> <NA>"
    back = read_rttm(path)
    assert [(t.start, t.end, t.speaker) for t in back] == [(0.0, 1.0, "bob"), (1.25, 2.5, "alice")]


def test_bad_rttm_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rttm"
    bad.write_text("SPEAKER x 1 0.0 1.0 <NA> <NA> a <NA> <NA>\nSPEAKER x 1 zero 1.0 <NA> <NA> a\n")
    with pytest.raises(RTTMError, match=r"bad.rttm:2: start and duration must be numbers"):
        read_rttm(bad)
    short = tmp_path / "short.rttm"
    short.write_text("SPEAKER x 1 0.0\n")
    with pytest.raises(RTTMError, match=r"short.rttm:1: .*8 fields"):
        read_rttm(short)
    with pytest.raises(RTTMError, match="missing.rttm"):
        read_rttm(tmp_path / "missing.rttm")
