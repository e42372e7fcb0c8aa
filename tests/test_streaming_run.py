"""Streaming ASR end to end: the dummy model (instant, stable) and real faster-whisper on real speech."""

from __future__ import annotations

import json

import pytest

from modellab.results.views import connect


def test_dummy_stream_writes_rows(run_cell, results_dir) -> None:
    summary = run_cell(
        "+model=dummy_asr", "task=streaming_asr", "dataset=cards_golden_v1", "model.info.capabilities=[streaming_asr]"
    )
    assert summary.status == "ok" and summary.n_samples == 5
    con = connect(results_dir)
    run = con.sql("SELECT partial_revision_rate, first_partial_latency_s, decodes_per_sample, wer, rtf FROM runs")
    revision_rate, first_latency, decodes, wer, rtf = run.fetchall()[0]
    # the dummy says the same words for any speech: nothing is ever revised
    assert revision_rate == 0.0 and first_latency is not None and decodes >= 2 and 0 < wer and rtf > 0
    rows = con.sql("SELECT sample_id, hypothesis, output, partials FROM samples ORDER BY sample_id").fetchall()
    sample_id, hypothesis, output, partials = rows[0]
    events = json.loads(output)["events"]
    # cards-001 lasts 1.095 s: chunks arrive at 1.0 s and 1.095 s; two partials, then the final
    assert sample_id == "cards-001" and partials == 2
    assert [e["audio_s"] for e in events] == pytest.approx([1.0, 1.095, 1.095], abs=1e-3)
    assert events[-1]["final"] and events[-1]["text"] == hypothesis


@pytest.mark.slow
def test_faster_whisper_stream(run_cell, results_dir) -> None:
    summary = run_cell("+model=faster_whisper", "task=streaming_asr", "dataset=cards_golden_v1", "+dataset.limit=2")
    assert summary.status == "ok" and summary.n_samples == 2
    con = connect(results_dir)
    cols = (
        "wer, first_partial_latency_s, finalisation_latency_s, partial_revision_rate, partial_lag_s, rtf, model_params"
    )
    wer, first, final, revision, lag, rtf, params = con.sql(f"SELECT {cols} FROM runs").fetchall()[0]
    assert 0 <= wer < 1 and first > 0 and final is not None and 0 <= revision <= 1 and lag > 0 and rtf > 0
    assert '"word_timestamps": true' in params.replace("True", "true")
    for hypothesis, output in con.sql("SELECT hypothesis, output FROM samples").fetchall():
        events = json.loads(output)["events"]
        assert hypothesis and events[-1]["final"] and events[-1]["text"] == hypothesis
        times = [e["t"] for e in events]
        assert times == sorted(times)  # wall-clock times only move forward


def test_dummy_stream_with_the_vad_endpoint_policy(run_cell, results_dir) -> None:
    summary = run_cell(
        "+model=dummy_asr",
        "task=streaming_asr",
        "task.options.policy=vad_endpoint",
        "dataset=cards_golden_v1",
        "+dataset.limit=2",
        "model.info.capabilities=[streaming_asr]",
    )
    assert summary.status == "ok"
    outputs = [json.loads(o) for (o,) in connect(results_dir).sql("SELECT output FROM samples").fetchall()]
    for out in outputs:
        assert out["events"][-1]["final"] and out["text"] == "he was not an ill disposed young man"
        assert all(e["committed"] in (0, len(e["text"].split())) for e in out["events"])  # whole utterances commit
