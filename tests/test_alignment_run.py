"""Alignment end to end: real faster-whisper word timestamps against the exact synthetic boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.audio import load_audio
from modellab.config.registry import load_component
from modellab.results.views import connect
from modellab.tasks.alignment import reference_units


def test_built_boundaries_sit_on_the_synthesized_words() -> None:
    dataset = load_component("dataset", "align_golden_v1", ["+dataset.limit=2"])
    for sample in dataset.samples():
        audio = load_audio(sample.audio_path)
        units = reference_units(sample)
        assert " ".join(u.text for u in units) == sample.text
        sr = audio.sample_rate
        for unit, after in zip(units, units[1:] + [None], strict=True):
            lo, hi = round(unit.start * sr), round(unit.end * sr)
            assert np.abs(audio.samples[lo]) > 0 and np.abs(audio.samples[hi - 1]) > 0  # the voiced edges
            if after is not None:  # the gap before the next word is digital silence (PCM_16 zeros)
                assert not np.any(audio.samples[hi : round(after.start * sr)])
        assert not np.any(audio.samples[: round(units[0].start * sr)])


def test_model_without_word_times_fails_each_sample_clearly(run_cell) -> None:
    summary = run_cell("+model=dummy_asr", "task=alignment", "model.info.capabilities=[alignment]", "+dataset.limit=2")
    assert summary.status == "failed" and summary.n_failed == 2
    assert all("no word timestamps" in r.error and "dummy_asr" in r.error for r in summary.records)


@pytest.mark.slow
def test_faster_whisper_alignment_run(run_cell, results_dir) -> None:
    summary = run_cell("+model=faster_whisper", "task=alignment", "+dataset.limit=2")
    assert summary.status == "ok" and summary.n_samples == 2
    con = connect(results_dir)
    (params, coverage, start_mean, start_median, w50, w100, w200) = con.sql(
        "SELECT model_params, word_coverage, start_error_mean_ms, start_error_median_ms, "
        "within_50ms, within_100ms, within_200ms FROM runs"
    ).fetchall()[0]
    assert '"word_timestamps": true' in params.replace("True", "true")
    assert 0 < coverage <= 1 and start_mean >= 0 and start_median >= 0
    assert 0 <= w50 <= w100 <= w200 <= 1
    rows = con.sql("SELECT sample_id, hypothesis, matched_words, ref_words FROM samples ORDER BY sample_id").fetchall()
    assert len(rows) == 2 and all(h and 0 < m <= r for _, h, m, r in rows)
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert {"end_error_mean_ms", "end_error_median_ms", "word_coverage", "rtfx"} <= names
