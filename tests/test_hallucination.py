"""Hallucination on non-speech (words per minute, sound tags apart), repetition loops, and their
intervals; expected values worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from modellab.metrics.hallucination import (
    SOUND_WORDS,
    NonSpeechCounts,
    count_nonspeech,
    has_repetition_loop,
    split_sound_tags,
    words_per_minute,
)
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.stats import metric_intervals
from modellab.results.views import connect
from modellab.tasks.base import SampleRecord
from modellab.types import Sample


def test_sound_tags_are_split_from_words() -> None:
    # [BLANK_AUDIO]: one span, one word inside -> 1 tag, nothing left
    assert split_sound_tags("[BLANK_AUDIO]", SOUND_WORDS) == ("", 1)
    # (beeping) 1 + *monkeys screaming* 2 + ♪ 1 = 4 tag words; "Thank you." stays
    assert split_sound_tags("(beeping) Thank you. *monkeys screaming* ♪", SOUND_WORDS) == ("Thank you.", 4)
    # bare sound words, any case and punctuation: 2 tags
    assert split_sound_tags("Beep! beep.", SOUND_WORDS) == ("", 2)
    assert split_sound_tags("you", SOUND_WORDS) == ("you", 0)


def test_hallucinated_words_are_counted_under_the_normaliser() -> None:
    norm = get_normalizer("whisper_en")
    # "Thank you." -> "thank you" (2 words); [Music] is a tag
    assert count_nonspeech("Thank you. [Music]", norm, SOUND_WORDS) == NonSpeechCounts(2, 1)
    # punctuation alone is no word (tiny.en writes ". . . ." on silence)
    assert count_nonspeech(". . . .", norm, SOUND_WORDS) == NonSpeechCounts(0, 0)
    assert count_nonspeech("", norm, SOUND_WORDS) == NonSpeechCounts(0, 0)


def test_words_per_minute() -> None:
    assert words_per_minute(3, 90.0) == pytest.approx(2.0)  # 3 words in 1.5 min
    assert words_per_minute(3, 0.0) is None


def test_repetition_loop_is_an_ngram_repeated_more_than_k_times() -> None:
    # "a b" × 5 = 10 words: trigram (a, b, a) occurs 4 times, (b, a, b) 4 times -> not more than 4
    assert not has_repetition_loop(["a", "b"] * 5, 3, 4)
    # "a b" × 6 = 12 words: (a, b, a) occurs 5 times -> a loop
    assert has_repetition_loop(["a", "b"] * 6, 3, 4)
    assert not has_repetition_loop(["a", "b"], 3, 4)  # shorter than n


def _asr_task():
    from modellab.config.registry import load_component

    return load_component("task", "asr")


def _record(sample_id: str, text: str | None, hypothesis: str, seconds: float, dbfs: float = -20.0) -> SampleRecord:
    sample = Sample(sample_id, text=text, duration_s=seconds)
    output = {"text": hypothesis, "segments": [], "words": [], "language": "en"}
    return SampleRecord(sample, output, audio_s=seconds, compute_s=0.1, level_dbfs=dbfs)


def test_nonspeech_run_scores_words_per_minute_pooled() -> None:
    task = _asr_task()
    records = [
        _record("a", None, "you", 60.0, dbfs=-90.0),  # 1 word
        _record("b", None, "[BEEP]", 30.0),  # 0 words, 1 tag
        _record("c", None, "I'm sorry, I'm sorry, I'm sorry, I'm sorry, I'm sorry, I'm sorry.", 30.0),
    ]
    scores = task.score(records, "nonspeech")
    metrics = {m.name: m for m in scores.metrics}
    # whisper_en: "i am sorry" × 6 = 18 words; total 1 + 0 + 18 = 19 words in 2 min -> 9.5 words/min
    assert metrics["hallucination_wpm"].value == pytest.approx(9.5)
    assert metrics["hallucination_wpm"].higher_is_better is False
    assert metrics["sound_tag_wpm"].value == pytest.approx(0.5)  # 1 tag in 2 min
    # "i am sorry i am sorry ...": (i, am, sorry) occurs 6 times > 4 -> one loop in 3 samples
    assert metrics["repetition_loops"].value == 1
    assert metrics["repetition_loop_rate"].value == pytest.approx(1 / 3)
    rows = {r["hypothesis"]: r for r in scores.samples}
    assert rows["[BEEP]"]["gate_empty_output"] is True  # a sound tag on a tone is no hallucination
    assert rows["you"]["gate_empty_output"] is False
    assert "hallucinated words/min" in scores.summary


def test_a_golden_set_counts_only_its_silent_references() -> None:
    task = _asr_task()
    records = [
        _record("s", "(9 seconds of silence)", "thank you", 30.0),  # empty under whisper_basic: non-speech
        _record("t", "hello world", "hello big world", 30.0),  # speech: 1 insertion
    ]
    metrics = {m.name: m.value for m in task.score(records, "golden").metrics}
    assert metrics["hallucination_wpm"] == pytest.approx(4.0)  # 2 words in 0.5 min
    assert metrics["nonspeech_s"] == 30.0
    # pooled insertions / reference words: "thank you" inserted against an empty reference (2) and
    # "big" (1), over 2 reference words -> 1.5
    assert metrics["insertion_rate"] == pytest.approx(1.5)


def test_speech_only_run_has_no_hallucination_metric() -> None:
    metrics = {m.name for m in _asr_task().score([_record("t", "hello", "hello", 5.0)], "golden").metrics}
    assert "hallucination_wpm" not in metrics and "repetition_loop_rate" in metrics


def test_words_per_minute_interval_reproduces_the_pooled_value() -> None:
    task = _asr_task()
    records = [
        _record("a", None, "thank you", 60.0),
        _record("b", None, "", 60.0),
        _record("c", None, "a b c d e f", 60.0),
    ]
    scores = task.score(records, "nonspeech")
    rows = [
        {"sample_id": r.sample.sample_id, "duration_s": r.audio_s, **s}
        for r, s in zip(records, scores.samples, strict=True)
    ]
    values = {m.name: m.value for m in scores.metrics}
    intervals = metric_intervals(values, rows, {}, resamples=500)
    ci = intervals["hallucination_wpm"]
    # 2 + 0 + 6 = 8 words in 3 minutes; a resample can be all "b" (0) or all "c" (6 words/min)
    assert ci.value == pytest.approx(8 / 3)
    assert 0.0 <= ci.low <= ci.value <= ci.high <= 6.0 and ci.low < ci.high
    assert ci.n_samples == 3


def test_dummy_model_on_the_english_nonspeech_set(run_cell, results_dir) -> None:
    """The real non-speech set, end to end through ``task=asr``: the dummy says "Thank you. [BEEP]"
    on every input that is not digital silence."""
    summary = run_cell(
        "+model=dummy_asr", "task=asr", "dataset=asterisk_en_nonspeech_v2", 'model.options.text="Thank you. [BEEP]"'
    )
    assert summary.status == "ok" and summary.n_samples == 17
    con = connect(results_dir)
    m = dict(con.sql("SELECT name, value FROM metrics").fetchall())
    # 4 tones + 2 beeps + the monkeys are not silent: 7 × 2 words; the 10 silences get nothing. Durations
    # from the manifest: 0.2 + 0.425 + 0.36 + 0.2 + 0.368 + 0.376 + (1 + ... + 10 = 55) + 16.18 = 73.109 s
    assert m["hallucination_wpm"] == pytest.approx(14 / (73.109 / 60), rel=1e-3)
    assert m["sound_tag_wpm"] == pytest.approx(7 / (73.109 / 60), rel=1e-3)
    low, high = con.sql("SELECT ci_low, ci_high FROM metrics WHERE name = 'hallucination_wpm'").fetchall()[0]
    assert low < m["hallucination_wpm"] < high
    assert con.sql("SELECT dataset_kind FROM runs").fetchall()[0] == ("nonspeech",)


@pytest.mark.slow  # real weights, ~30-60 s on 2 cores
def test_tiny_en_on_the_english_nonspeech_set(run_cell, results_dir) -> None:
    summary = run_cell("+model=faster_whisper", "task=asr", "dataset=asterisk_en_nonspeech_v2")
    assert summary.status == "ok" and summary.n_samples == 17
    con = connect(results_dir)
    rows = con.sql("SELECT sample_id, hypothesis, hallucinated_words, duration_s FROM samples").fetchall()
    norm = get_normalizer("whisper_en")
    # tiny.en writes nothing or only dots on the ten silences (no words under the normaliser)
    silences = [r for r in rows if r[0].startswith("en-silence")]
    assert len(silences) == 10 and all(norm(r[1]) == "" and r[2] == 0 for r in silences)
    value, low, high = con.sql(
        "SELECT value, ci_low, ci_high FROM metrics WHERE name = 'hallucination_wpm'"
    ).fetchall()[0]
    # the run value is Σ words ÷ Σ minutes of the stored rows
    assert value == pytest.approx(sum(r[2] for r in rows) / (sum(r[3] for r in rows) / 60))
    assert low <= value <= high and value < 5.0  # measured 2026-12-03: 0.83 (one "Ahhh…" on the monkeys)
    assert not math.isnan(low)


def test_a_tone_answered_with_nothing_passes_the_empty_output_gate() -> None:
    # a tone is loud (-20 dBFS), so the speech gate would expect words; on non-speech nothing is right
    scores = _asr_task().score([_record("tone", None, "", 0.4, dbfs=-20.0)], "nonspeech")
    assert scores.samples[0]["gate_empty_output"] is True
    assert {m.name: m.value for m in scores.metrics}["hallucination_wpm"] == 0.0
