"""Alignment metrics and the word-by-word set builder, against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.datasets.base import DatasetError
from modellab.datasets.builders.alignment import join_words, trim_to_voiced, write_word_stm
from modellab.metrics.alignment import AlignmentResult, TimedUnit, align_units, summarize_alignment
from modellab.metrics.normalizers import get_normalizer
from modellab.tasks.alignment import reference_units
from modellab.tasks.base import SampleRecord
from modellab.tasks.model_options import apply_model_options
from modellab.types import Sample

BASIC = get_normalizer("basic")
TOLERANCES = [50, 100, 200]


def test_word_boundary_errors_hand_computed() -> None:
    ref = [TimedUnit("the", 0.5, 0.8), TimedUnit("cat", 1.0, 1.4), TimedUnit("sat", 1.5, 2.0)]
    hyp = [TimedUnit("The", 0.45, 0.85), TimedUnit("cat.", 1.1, 1.3), TimedUnit("mat", 1.5, 2.2)]
    result = align_units(ref, hyp, BASIC)
    # "the" and "cat" match (case and punctuation normalised away); "sat" -> "mat" is a substitution.
    assert result.start_errors == pytest.approx([-0.05, 0.1])
    assert result.end_errors == pytest.approx([0.05, -0.1])
    assert (result.ref_tokens, result.matched_tokens) == (3, 2)
    s = summarize_alignment([result], TOLERANCES)
    assert s["start_error_mean_ms"] == pytest.approx(75.0)
    assert s["start_error_median_ms"] == pytest.approx(75.0)
    assert s["end_error_mean_ms"] == pytest.approx(75.0)
    assert s["end_error_median_ms"] == pytest.approx(75.0)
    assert s["start_bias_ms"] == pytest.approx(25.0)  # (-50 + 100) / 2
    assert s["end_bias_ms"] == pytest.approx(-25.0)
    # |errors| = 50, 100, 50, 100 ms: an error of exactly the tolerance counts as within it.
    assert s["within_50ms"] == pytest.approx(0.5)
    assert s["within_100ms"] == pytest.approx(1.0)
    assert s["within_200ms"] == pytest.approx(1.0)
    assert s["word_coverage"] == pytest.approx(2 / 3)
    assert s["boundaries"] == 4


def test_median_differs_from_mean() -> None:
    ref = [TimedUnit(w, float(i), i + 0.5) for i, w in enumerate("a b c".split())]
    hyp = [TimedUnit("a", 0.0, 0.5), TimedUnit("b", 1.02, 1.5), TimedUnit("c", 2.3, 2.5)]
    s = summarize_alignment([align_units(ref, hyp, BASIC)], TOLERANCES)
    assert s["start_error_mean_ms"] == pytest.approx(320 / 3)  # (0 + 20 + 300) / 3
    assert s["start_error_median_ms"] == pytest.approx(20.0)
    assert s["end_error_mean_ms"] == pytest.approx(0.0)
    assert s["within_50ms"] == pytest.approx(5 / 6)


def test_phrase_units_are_timed_by_their_first_and_last_words() -> None:
    ref = [TimedUnit("Hello there.", 1.0, 2.0), TimedUnit("Bye!", 3.0, 3.5)]
    hyp = [TimedUnit("hello", 0.9, 1.3), TimedUnit("there", 1.4, 2.3), TimedUnit("by", 3.0, 3.4)]
    result = align_units(ref, hyp, BASIC)
    assert result.start_errors == pytest.approx([-0.1])  # the phrase "bye" is not matched: no errors for it
    assert result.end_errors == pytest.approx([0.3])
    assert (result.ref_tokens, result.matched_tokens) == (3, 2)
    s = summarize_alignment([result], TOLERANCES)
    assert s["within_100ms"] == pytest.approx(0.5) and s["within_200ms"] == pytest.approx(0.5)


def test_coverage_is_pooled_over_samples_not_averaged() -> None:
    one = AlignmentResult([0.0], [0.0], ref_tokens=1, matched_tokens=1)
    none = align_units([TimedUnit(w, 0, 1) for w in "x y z".split()], [], BASIC)
    assert none.coverage == 0.0 and none.start_errors == []
    s = summarize_alignment([one, none], TOLERANCES)
    assert s["word_coverage"] == pytest.approx(0.25)  # 1 of 4 words, not mean(1, 0) = 0.5


def test_no_matches_gives_no_error_values() -> None:
    s = summarize_alignment([align_units([TimedUnit("a", 0, 1)], [TimedUnit("b", 0, 1)], BASIC)], TOLERANCES)
    assert s["start_error_mean_ms"] is None and s["within_100ms"] is None
    assert s["word_coverage"] == 0.0


def test_join_words_bounds_are_exact() -> None:
    sr = 1000
    words = [np.ones(100, dtype=np.float32), np.ones(50, dtype=np.float32), np.ones(10, dtype=np.float32)]
    samples, bounds = join_words(words, [0.2, 0.0], pad_s=0.5, sample_rate=sr)
    assert bounds == [(0.5, 0.6), (0.8, 0.85), (0.85, 0.86)]
    assert len(samples) == 500 + 100 + 200 + 50 + 10 + 500
    for start, end in bounds:
        assert samples[int(start * sr) : int(end * sr)].min() == 1.0
    assert samples[600:800].max() == 0.0 and samples[:500].max() == 0.0 and samples[860:].max() == 0.0
    with pytest.raises(ValueError, match="3 words need 2 gaps"):
        join_words(words, [0.1], pad_s=0.0)


def test_trim_to_voiced_keeps_first_to_last_loud_sample() -> None:
    x = np.array([0.0, 0.001, 0.5, -1.0, 0.2, 0.005, 0.0], dtype=np.float32)
    assert trim_to_voiced(x, -40.0).tolist() == pytest.approx([0.5, -1.0, 0.2])  # threshold 0.01
    with pytest.raises(ValueError, match="silent"):
        trim_to_voiced(np.zeros(10, dtype=np.float32), -40.0)


def test_stm_round_trip_and_missing_stm_is_named(tmp_path: Path) -> None:
    stm = tmp_path / "s.stm"
    write_word_stm(stm, "s", "spk", ["hello", "world"], [(0.5, 0.9), (1.0, 1.25)])
    units = reference_units(Sample("s", stm_path=str(stm)))
    assert [(u.text, u.start, u.end) for u in units] == [("hello", 0.5, 0.9), ("world", 1.0, 1.25)]
    with pytest.raises(DatasetError, match="sample 'nostm' has no STM"):
        reference_units(Sample("nostm"))
    bad = tmp_path / "bad.stm"
    bad.write_text("s 1 spk 2.0 1.0 backwards\n")
    with pytest.raises(DatasetError, match="bad.stm.*ends"):
        reference_units(Sample("b", stm_path=str(bad)))


def test_task_scores_records_against_the_stm(tmp_path: Path) -> None:
    stm = tmp_path / "s.stm"
    write_word_stm(stm, "s", "spk", ["the", "cat", "sat"], [(0.5, 0.8), (1.0, 1.4), (1.5, 2.0)])
    words = [
        {"word": "The", "start": 0.45, "end": 0.85, "probability": 0.9},
        {"word": "cat.", "start": 1.1, "end": 1.3, "probability": 0.9},
        {"word": "mat", "start": 1.5, "end": 2.2, "probability": 0.9},
    ]
    sample = Sample("s", text="the cat sat", stm_path=str(stm))
    records = [
        SampleRecord(sample, output={"text": "The cat. mat", "words": words}),
        SampleRecord(Sample("broken"), error="boom"),
    ]
    task = load_component("task", "alignment")
    scores = task.score(records, "golden")
    row, failed = scores.samples
    assert row["word_coverage"] == pytest.approx(2 / 3) and row["start_error_mean_ms"] == pytest.approx(75.0)
    assert (row["ref_words"], row["matched_words"]) == (3, 2) and failed["hypothesis"] is None
    metrics = {m.name: m for m in scores.metrics}
    assert metrics["within_50ms"].value == pytest.approx(0.5) and metrics["within_50ms"].higher_is_better
    assert metrics["end_error_mean_ms"].higher_is_better is False
    assert metrics["start_bias_ms"].higher_is_better is None


def test_task_turns_word_timestamps_on_where_the_adapter_has_them() -> None:
    task = load_component("task", "alignment")
    model = load_component("model", "faster_whisper")
    assert model.options.word_timestamps is False
    before = model.identity_hash()
    task.check_model(model)
    assert model.options.word_timestamps is True and model.identity_hash() != before
    assert task.applied_model_options == {"word_timestamps": True}
    dummy = load_component("model", "dummy_asr", ["model.info.capabilities=[alignment]"])
    assert apply_model_options(dummy, {"word_timestamps": True}) == {}
