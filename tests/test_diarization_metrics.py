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


# --- JER under the collar and overlap settings; files without speech; RTTM details ---------------


def test_jer_uses_the_same_collar_and_overlap_handling_as_der() -> None:
    # X 0-2 said as y 0-1.25. No collar: JER 1 - 1.25/2 = 0.375. Collar 0.5 (0.25 s each side of 0 and 2):
    # X is scored over 0.25-1.75 (1.5 s), y over 0.25-1.25 (1 s): 1 - 1/1.5 = 1/3
    ref, hyp = [T(0, 2, "X")], [T(0, 1.25, "y")]
    assert DiarizationScorer(0.0, False).add(ref, hyp, 4.0).jer == pytest.approx(0.375)
    assert DiarizationScorer(0.5, False).add(ref, hyp, 4.0).jer == pytest.approx(1 / 3)
    # A 0-4 and B 2-6 overlap on 2-4; the model says s1 0-4, s2 4-6. Overlap scored: A 0, B 1 - 2/4 → 0.25;
    # overlap skipped: A 0-2 vs s1, B 4-6 vs s2, both exact → 0
    ref, hyp = [T(0, 4, "A"), T(2, 6, "B")], [T(0, 4, "s1"), T(4, 6, "s2")]
    assert DiarizationScorer(0.0, False).add(ref, hyp, 6.0).jer == pytest.approx(0.25)
    assert DiarizationScorer(0.0, True).add(ref, hyp, 6.0).jer == pytest.approx(0.0)


def test_a_file_without_reference_speech_is_counted_but_not_scored() -> None:
    scorer = DiarizationScorer(0.0, False)
    s = scorer.add([], [T(0, 1, "x"), T(1, 2, "y")], 3.0)
    assert (s.der, s.missed, s.false_alarm, s.confusion, s.total, s.jer) == (None, 0.0, 0.0, 0.0, 0.0, None)
    assert (s.ref_speakers, s.hyp_speakers) == (0, 2)
    assert scorer.pooled() is None  # no file with reference speech yet
    scorer.add([T(0, 1, "A")], [T(0, 1, "a")], 1.0)
    scorer.add([T(0, 2, "B")], [], 2.0)
    assert scorer.files == 3
    pooled = scorer.pooled()
    assert (pooled.der, pooled.missed, pooled.total) == pytest.approx((2 / 3, 2.0, 3.0))


def test_read_rttm_skips_comments_and_other_line_types_and_checks_each_line(tmp_path: Path) -> None:
    path = tmp_path / "r.rttm"
    path.write_text(
        ";; a comment first\n"
        "# another\n"
        "SPKR-INFO f 1 <NA> <NA> <NA> unknown A <NA> <NA>\n"
        "\n"
        "SPEAKER f 1 0.0 0.5 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER f 1 1.0 0.0 <NA> <NA> B <NA> <NA>\n",  # a zero-length turn is valid RTTM
        encoding="utf-8",
    )
    assert [(t.start, t.end, t.speaker) for t in read_rttm(path, uri="f")] == [(0.0, 0.5, "A"), (1.0, 1.0, "B")]
    with pytest.raises(RTTMError, match=r"r\.rttm:5: line about recording 'f' in the RTTM of 'g'"):
        read_rttm(path, uri="g")
    path.write_text("SPEAKER f 1 -1.0 0.5 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(RTTMError, match=r"r\.rttm:1: negative start or duration \(-1\.0, 0\.5\)"):
        read_rttm(path)
    path.write_text("SPEAKER f 1 zero one <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(RTTMError, match=r"numbers, got 'zero' 'one'"):
        read_rttm(path)


def test_rttm_lines_sanitise_names_and_drop_empty_turns(tmp_path: Path) -> None:
    from modellab.metrics.diarization import rttm_lines

    turns = [T(1.0, 2.0, "spk two"), T(0.0, 0.5, "one"), T(3.0, 3.0, "empty")]
    assert rttm_lines(turns, "my call") == [
        "SPEAKER my_call 1 0.000 0.500 <NA> <NA> one <NA> <NA>",
        "SPEAKER my_call 1 1.000 1.000 <NA> <NA> spk_two <NA> <NA>",
    ]
    assert rttm_lines([T(0, 1, "a")], "")[0].startswith("SPEAKER file 1 ")
    written = write_rttm(turns, tmp_path / "deep" / "er" / "out.rttm", uri="c")
    assert [t.speaker for t in read_rttm(written)] == ["one", "spk_two"]


def test_scoring_stops_at_the_end_of_the_file() -> None:
    # A 0-2 in a 4 s file; the model says a 0-5 (past the end). Scored inside [0, 4]: 2 s false alarm
    # over 2 s of speech → DER 1.0 (not 3/2), JER of A 1 - 2/4 = 0.5 (not 1 - 2/5)
    s = DiarizationScorer(0.0, False).add([T(0, 2, "A")], [T(0, 5, "a")], 4.0)
    assert (s.der, s.false_alarm, s.jer) == pytest.approx((1.0, 2.0, 0.5))


def test_an_unreadable_rttm_names_the_file_and_the_reason(tmp_path: Path) -> None:
    with pytest.raises(RTTMError, match=r"missing\.rttm: cannot read RTTM \(No such file or directory\)"):
        read_rttm(tmp_path / "missing.rttm")
