"""Run-level (pooled) headline metrics against values worked out by hand, through each task's ``score``.

Every fixture has samples of unequal size, so the pooled value (Σ errors ÷ Σ reference) differs
from the mean of per-sample values; the comments show both. A task that averaged per-sample rates
(the planted bugs "run WER = mean of per-sample WERs" and "run DER = mean of per-file DERs")
fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modellab.config.registry import load_component
from modellab.tasks.base import SampleRecord, Scores
from modellab.types import Sample

# --- helpers ------------------------------------------------------------------------------------


def _metrics(scores: Scores) -> dict[str, float | None]:
    return {m.name: m.value for m in scores.metrics}


def _rttm(path: Path, turns: list[tuple[float, float, str]]) -> str:
    lines = [f"SPEAKER f 1 {s:.3f} {e - s:.3f} <NA> <NA> {spk} <NA> <NA>" for s, e, spk in turns]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def _stm(path: Path, units: list[tuple[str, float, float]]) -> str:
    path.write_text("".join(f"f 1 spk {s} {e} {text}\n" for text, s, e in units), encoding="utf-8")
    return str(path)


def _asr_record(sample_id: str, reference: str, hypothesis: str | None) -> SampleRecord:
    sample = Sample(sample_id, text=reference, duration_s=4.0)
    if hypothesis is None:
        return SampleRecord(sample, error="RuntimeError: boom", audio_s=4.0)
    return SampleRecord(sample, output={"text": hypothesis}, audio_s=4.0, level_dbfs=-20.0)


# --- ASR: pooled WER / CER ----------------------------------------------------------------------

ASR_FIXTURE = [
    # reference (words), hypothesis: word errors       | characters (spaces count), char errors
    ("the cat sat on the mat", "the cat sat on the mat"),  # 6 words, 0 errors  | 22 chars, 0
    ("hello world", "hello"),  # 2 words, 1 deletion                             | 11 chars, 6 (" world")
    ("good morning", "good evening all"),  # 2 words, 1 sub + 1 ins              | 12 chars, 7 (3 sub + 4 ins)
]


def test_asr_run_wer_and_cer_are_pooled_over_references_of_unequal_length() -> None:
    task = load_component("task", "asr")
    records = [_asr_record(f"s{i}", r, h) for i, (r, h) in enumerate(ASR_FIXTURE)]
    scores = task.score(records, "golden")
    m = _metrics(scores)
    # pooled WER: (0 + 1 + 2) / (6 + 2 + 2) = 3/10; a mean of rates would be (0 + 1/2 + 2/2) / 3 = 1/2
    assert m["wer"] == pytest.approx(3 / 10)
    # pooled CER: (0 + 6 + 7) / (22 + 11 + 12) = 13/45 ≈ 0.289; the mean would be (0 + 6/11 + 7/12) / 3 ≈ 0.376
    assert m["cer"] == pytest.approx(13 / 45)
    assert m["substitution_rate"] == pytest.approx(1 / 10)
    assert m["deletion_rate"] == pytest.approx(1 / 10)
    assert m["insertion_rate"] == pytest.approx(1 / 10)
    assert m["ref_words"] == 10
    # lower-case, unpunctuated text: every normaliser sees the same words, so no spread
    assert m["wer_none"] == m["wer_basic"] == m["wer_whisper_en"] == pytest.approx(3 / 10)
    assert m["wer_normalizer_spread"] == pytest.approx(0.0)
    assert [row["wer"] for row in scores.samples] == pytest.approx([0.0, 0.5, 1.0])
    assert scores.summary.startswith("WER 30.00%  CER 28.89%")


def test_asr_failed_samples_count_as_all_deletions_only_in_wer_incl_failed() -> None:
    task = load_component("task", "asr")
    records = [_asr_record(f"s{i}", r, h) for i, (r, h) in enumerate(ASR_FIXTURE)]
    records.append(_asr_record("s3", "alpha beta gamma delta epsilon", None))  # a failure: 5 words never answered
    m = _metrics(task.score(records, "golden"))
    assert m["wer"] == pytest.approx(3 / 10)  # the scored samples only
    assert m["wer_incl_failed"] == pytest.approx((3 + 5) / (10 + 5))  # 8/15, not the mean (0+.5+1+1)/4


def test_asr_normalisers_pool_separately_and_their_spread_is_max_minus_min() -> None:
    task = load_component("task", "asr")
    records = [
        # none: "Hello," / "world." are not "hello" / "world": 2 substitutions of 2 words; basic and whisper_en: 0
        _asr_record("a", "Hello, world.", "hello world"),
        # 4 words, 1 substitution under every normaliser
        _asr_record("b", "red green blue black", "red green blew black"),
    ]
    m = _metrics(task.score(records, "golden"))
    assert m["wer_none"] == pytest.approx((2 + 1) / (2 + 4))  # 1/2; the per-sample mean would be (1 + 1/4)/2
    assert m["wer_basic"] == pytest.approx(1 / 6)
    assert m["wer"] == m["wer_whisper_en"] == pytest.approx(1 / 6)
    assert m["wer_normalizer_spread"] == pytest.approx(1 / 2 - 1 / 6)


# --- diarization: pooled DER / JER --------------------------------------------------------------


def _diarization_records(tmp_path: Path) -> list[SampleRecord]:
    # file A (10 s): speakers A 0-5 and B 5-10, found exactly (labels differ): 0 s of errors over 10 s
    # file B (4 s): speaker X 0-2, the model says y over 0-1 only: 1 s missed over 2 s (file DER 1/2)
    a = Sample("a", rttm_path=_rttm(tmp_path / "a.rttm", [(0, 5, "A"), (5, 10, "B")]))
    b = Sample("b", rttm_path=_rttm(tmp_path / "b.rttm", [(0, 2, "X")]))
    hyp_a = {"turns": [{"start": 0.0, "end": 5.0, "speaker": "s1"}, {"start": 5.0, "end": 10.0, "speaker": "s2"}]}
    hyp_b = {"turns": [{"start": 0.0, "end": 1.0, "speaker": "y"}]}
    return [SampleRecord(a, output=hyp_a, audio_s=10.0), SampleRecord(b, output=hyp_b, audio_s=4.0)]


def test_diarization_run_der_and_jer_are_pooled_over_files_of_different_scored_length(tmp_path: Path) -> None:
    task = load_component("task", "diarization")  # collar 0, overlap scored; der_with_collar: 0.5 s total
    scores = task.score(_diarization_records(tmp_path), "golden")
    m = _metrics(scores)
    # pooled DER: (0 + 1) s / (10 + 2) s = 1/12 ≈ 0.083; the mean of file DERs would be (0 + 1/2) / 2 = 1/4
    assert m["der"] == pytest.approx(1 / 12)
    assert m["der_miss"] == pytest.approx(1 / 12)
    assert m["der_false_alarm"] == 0.0 and m["der_confusion"] == 0.0
    assert m["scored_speech_s"] == pytest.approx(12.0)
    # JER is pooled over reference speakers: A 0, B 0, X 1 - |X ∩ y| / |X ∪ y| = 1 - 1/2 → (0 + 0 + 1/2) / 3
    # = 1/6; the mean of file JERs would be (0 + 1/2) / 2 = 1/4
    assert m["jer"] == pytest.approx(1 / 6)
    # with a 0.25 s collar each side of every reference boundary: file A scores 10 - 0.25 - 0.5 - 0.25 = 9 s,
    # file B scores X over 0.25-1.75 = 1.5 s of which 1.0-1.75 is missed: 0.75 / (9 + 1.5) = 1/14
    assert m["der_with_collar"] == pytest.approx(0.75 / 10.5)
    assert m["speaker_count_accuracy"] == 1.0 and m["speaker_count_mae"] == 0.0
    assert [row["der"] for row in scores.samples] == pytest.approx([0.0, 0.5])
    assert scores.summary.startswith("DER 8.33%  JER 16.67%")


# --- VAD: pooled frame counts -------------------------------------------------------------------


def test_vad_frame_metrics_pool_frames_over_files(tmp_path: Path) -> None:
    task = load_component("task", "vad")  # 10 ms frames
    # file 1 (10 s): speech 0-5, found exactly: TP 500, TN 500
    # file 2 (2 s): speech 0-1, the model says 0.5-2: TP 50 (0.5-1), FN 50 (0-0.5), FP 100 (1-2), TN 0
    one = Sample("one", rttm_path=_rttm(tmp_path / "one.rttm", [(0, 5, "A")]))
    two = Sample("two", rttm_path=_rttm(tmp_path / "two.rttm", [(0, 1, "A")]))
    records = [
        SampleRecord(one, output={"segments": [{"start": 0.0, "end": 5.0}]}, audio_s=10.0, level_dbfs=-20.0),
        SampleRecord(two, output={"segments": [{"start": 0.5, "end": 2.0}]}, audio_s=2.0, level_dbfs=-20.0),
    ]
    scores = task.score(records, "golden")
    m = _metrics(scores)
    # pooled: TP 550, FP 100, FN 50, TN 500
    assert m["precision"] == pytest.approx(550 / 650)
    assert m["recall"] == pytest.approx(550 / 600)
    assert m["f1"] == pytest.approx(1100 / 1250)  # 0.88; the mean of file F1s would be (1 + 0.4) / 2 = 0.7
    assert m["detection_error_rate"] == pytest.approx(150 / 600)  # (FA + miss) / reference speech
    assert m["miss_rate"] == pytest.approx(50 / 600)
    assert m["false_alarm_rate"] == pytest.approx(100 / 600)  # FP / (FP + TN)
    # boundaries: file 1 onset 0, offset 0; file 2 onset 0.5, offset 1.0 → mean over the 4 boundaries
    assert m["boundary_error_s"] == pytest.approx((0 + 0 + 0.5 + 1.0) / 4)
    assert m["speech_ratio"] == pytest.approx((5 + 1.5) / 12)
    assert m["ref_speech_ratio"] == pytest.approx((5 + 1) / 12)
    assert m["n_scored_files"] == 2
    assert [row["f1"] for row in scores.samples] == pytest.approx([1.0, 0.4])


# --- translation: corpus BLEU / chrF ------------------------------------------------------------


def _translation_records(pairs: list[tuple[str, str]]) -> list[SampleRecord]:
    return [SampleRecord(Sample(f"t{i}", text=ref), output={"text": hyp}) for i, (ref, hyp) in enumerate(pairs)]


def test_corpus_bleu_pools_ngram_counts_over_sentences() -> None:
    task = load_component("task", "translation")  # 13a tokenizer, case-sensitive
    records = _translation_records(
        [("the cat sat on the mat", "the cat sat on the mat"), ("a dog barks", "a dog runs")]
    )
    m = _metrics(task.score(records, "golden"))
    # n-gram matches summed over both sentences: 1-grams (6+2)/(6+3) = 8/9, 2-grams (5+1)/(5+2) = 6/7,
    # 3-grams (4+0)/(4+1) = 4/5, 4-grams (3+0)/(3+0) = 1; lengths equal (9 = 9) so no brevity penalty.
    expected = 100 * (8 / 9 * 6 / 7 * 4 / 5 * 1) ** 0.25  # ≈ 88.36; sentence BLEUs would average far lower
    assert m["bleu"] == pytest.approx(expected)
    assert m["n_scored"] == 2 and m["empty_output_rate"] == 0.0


def test_corpus_chrf_pools_character_ngram_counts_over_sentences() -> None:
    task = load_component("task", "translation")  # chrF: character 1- to 6-grams, beta 2
    records = _translation_records([("abcdef", "abcdef"), ("gh", "gk")])
    scores = task.score(records, "golden")
    # summed [hyp, ref, match] per order: 1: 8, 8, 7   2: 6, 6, 5   3: 4, 4, 4   4: 3, 3, 3   5: 2, 2, 2   6: 1, 1, 1
    # precision = recall per order, averaged over the 6 orders: (7/8 + 5/6 + 4) / 6 ≈ 0.9514 → chrF 95.14
    # (sentence "gh"/"gk" alone: (1/2 + 0) / 2 → 25; a mean of sentence scores would be 62.5)
    assert _metrics(scores)["chrf"] == pytest.approx(100 * (7 / 8 + 5 / 6 + 4) / 6)
    assert [row["chrf"] for row in scores.samples] == pytest.approx([100.0, 25.0])


# --- alignment: pooled boundary errors ----------------------------------------------------------


def _words(*words: tuple[str, float, float]) -> dict[str, Any]:
    return {"text": " ".join(w for w, _, _ in words), "words": [{"word": w, "start": s, "end": e} for w, s, e in words]}


def test_alignment_errors_pool_boundaries_over_samples(tmp_path: Path) -> None:
    task = load_component("task", "alignment")  # basic normaliser, tolerances 50/100/200 ms
    first = Sample(
        "first", text="hello world", stm_path=_stm(tmp_path / "1.stm", [("hello", 0.0, 0.5), ("world", 0.5, 1.0)])
    )
    second = Sample("second", text="one two", stm_path=_stm(tmp_path / "2.stm", [("one", 1.0, 1.5), ("two", 2.0, 2.5)]))
    records = [
        # start errors +0.02, 0.00; end errors 0.00, +0.10
        SampleRecord(first, output=_words(("Hello", 0.02, 0.5), ("world", 0.5, 1.1))),
        # "one": start +0.30, end 0.00; "two" is never said (not matched: coverage 3/4 over both samples)
        SampleRecord(second, output=_words(("one", 1.3, 1.5))),
    ]
    m = _metrics(task.score(records, "golden"))
    # pooled over the 3 matched starts |.02, 0, .3| and 3 ends |0, .1, 0|
    assert m["start_error_mean_ms"] == pytest.approx(1000 * 0.32 / 3)  # 106.7; per-sample means: (10 + 300)/2
    assert m["start_error_median_ms"] == pytest.approx(20.0)
    assert m["end_error_mean_ms"] == pytest.approx(1000 * 0.1 / 3)
    assert m["end_error_median_ms"] == pytest.approx(0.0)
    assert m["start_bias_ms"] == pytest.approx(1000 * 0.32 / 3)
    # the six boundaries |.02, 0, .3, 0, .1, 0|: 4 within 50 ms, 5 within 100 ms (exactly 100 counts), 5 within 200
    assert m["within_50ms"] == pytest.approx(4 / 6)
    assert m["within_100ms"] == pytest.approx(5 / 6)
    assert m["within_200ms"] == pytest.approx(5 / 6)
    assert m["word_coverage"] == pytest.approx(3 / 4)
    assert m["boundaries"] == 6
