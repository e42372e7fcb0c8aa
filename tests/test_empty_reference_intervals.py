"""A reference that the primary normaliser empties (``(9 seconds of silence)`` under ``whisper_en``)
still counts its hypothesis' words as insertions in the pooled WER/CER, so the bootstrap
decomposition counts them too and the interval is stored; a metric without an interval says why
(``ci_note``). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import math
from typing import Any

import pytest

from modellab.config.registry import load_component
from modellab.metrics.stats import Intervals, metric_intervals, no_interval_reason, with_intervals
from modellab.tasks.base import SampleRecord
from modellab.types import Sample

# (reference, hypothesis). Under whisper_en:
#   a: "the cat sat" / "the cat sat"      -> 0 errors, 3 words; 0 char errors, 11 chars
#   b: "hello world" / "hello word"       -> 1 substitution, 2 words; 1 char deletion ('l'), 11 chars
#   c: "" (parenthesised text is dropped) / "thank you" -> 2 insertions, 0 words; 9 char insertions, 0 chars
# WER = (0 + 1 + 2) / (3 + 2 + 0) = 3/5; CER = (0 + 1 + 9) / (11 + 11 + 0) = 10/22.
# Under basic, c is "9 seconds of silence" (4 words) vs "thank you": 2 substitutions + 2 deletions,
# so wer_basic = (0 + 1 + 4) / (3 + 2 + 4) = 5/9.
PAIRS = {
    "a": ("The cat sat.", "the cat sat"),
    "b": ("Hello world.", "hello word"),
    "c": ("(9 seconds of silence)", "Thank you."),
}


def _scored_rows() -> tuple[list[dict[str, Any]], dict[str, float], dict[str, Any]]:
    task = load_component("task", "asr")
    records = [
        SampleRecord(Sample(sid, text=ref, language="en"), output={"text": hyp}, audio_s=2.0, level_dbfs=-20.0)
        for sid, (ref, hyp) in PAIRS.items()
    ]
    scores = task.score(records, "golden")
    rows = [
        {"sample_id": r.sample.sample_id, "reference": r.sample.text, "error": None, "duration_s": 2.0, **s}
        for r, s in zip(records, scores.samples, strict=True)
    ]
    metrics = {m.name: m.value for m in scores.metrics if m.value is not None}
    return rows, metrics, task.metadata()


def test_pooled_wer_and_cer_count_the_insertions_of_an_emptied_reference() -> None:
    rows, metrics, run = _scored_rows()
    assert run["normalizer"] == "whisper_en" and run["language"] == "en"
    assert metrics["wer"] == pytest.approx(3 / 5)
    assert metrics["cer"] == pytest.approx(10 / 22)
    assert metrics["wer_basic"] == pytest.approx(5 / 9)
    emptied = next(r for r in rows if r["sample_id"] == "c")
    assert (emptied["ref_words"], emptied["insertions"]) == (0, 2) and math.isnan(emptied["wer"])


def test_wer_and_cer_get_intervals_with_an_emptied_reference() -> None:
    rows, metrics, run = _scored_rows()
    found = metric_intervals(metrics, rows, run, resamples=300, seed=1)
    for name, value in (("wer", 3 / 5), ("cer", 10 / 22), ("wer_basic", 5 / 9), ("wer_whisper_en", 3 / 5)):
        assert name in found, f"{name} lost its interval"
        ci = found[name]
        assert ci.value == pytest.approx(value)
        assert ci.low <= value <= ci.high
    # The 27 equally likely ordered draws of 3 samples, by hand: (c, c, c) has no reference words
    # (dropped as not finite); a, c, c gives (0 + 2 + 2) / 3 = 4/3 and b, c, c gives (1 + 2 + 2) / 2 = 5/2,
    # 3 orders each: 6 of the 26 finite draws (23%) exceed 1, so the upper 2.5% bound is above 1. Without
    # c's insertions no draw could exceed 1/2.
    assert found["wer"].high > 1.0


def test_a_metric_without_an_interval_says_why() -> None:
    rows, metrics, run = _scored_rows()
    metric_rows = [
        {"name": "wer", "value": metrics["wer"]},
        {"name": "load_s", "value": 1.5},
        {"name": "ref_words", "value": metrics["ref_words"]},  # 5: a total, while the rows' mean is 5/3
        {"name": "cer", "value": 0.99},  # not what the samples give
    ]
    out = with_intervals(metric_rows, rows, dict(run), Intervals(200, 0.95), seed=0)
    notes = {m["name"]: m["ci_note"] for m in out}
    assert notes["wer"] is None and out[0]["ci_low"] is not None
    assert notes["load_s"].startswith("not a sum over samples")
    assert notes["ref_words"] == "a run total or count, not a mean or rate over samples"
    assert "gives 0.454545, not the stored 0.99" in notes["cer"]
    assert no_interval_reason("wer", float("nan"), rows, run) == "no finite value to resample"
    assert no_interval_reason("wer", 0.6, [], run) == "the run has no sample rows"
