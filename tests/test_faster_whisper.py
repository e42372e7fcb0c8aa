"""Real faster-whisper runs with the weights that install here (tiny.en; base joined from two parts)."""

from __future__ import annotations

import pytest

from modellab.results.views import connect
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_tiny_en_transcribes_real_speech_with_low_wer(run_cell, results_dir) -> None:
    summary = run_cell("+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1")
    assert summary.status == "ok"
    assert summary.metrics["wer"] < 0.15  # measured 5.6 % on these 5 LibriVox clips
    assert summary.metrics["rtfx"] > 1.0
    hyp = dict(connect(results_dir).sql("SELECT sample_id, hypothesis FROM samples").fetchall())
    assert "he was not an" in hyp["librivox-sense_and_sensibility_01_austen_64kb-0880"].lower()


def test_two_cell_sweep_with_m_flag(results_dir) -> None:
    out = run_cli(
        "modellab",
        "-m",
        "+model=faster_whisper",
        "task=asr",
        "dataset=cards_golden_v1",
        "preprocessing=none,normalize_loudness",
        f"results_dir={results_dir}",
        "progress=false",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = (
        connect(results_dir).sql("SELECT preprocessing, status, sweep_id FROM runs ORDER BY preprocessing").fetchall()
    )
    assert [r[0] for r in rows] == ["none", "normalize_loudness"]
    assert all(r[1] == "ok" for r in rows)
    assert rows[0][2] is not None and rows[0][2] == rows[1][2]  # one sweep id for both cells


def test_base_model_joins_parts_and_runs(run_cell, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MODELLAB_CACHE_DIR", str(tmp_path / "cache"))
    summary = run_cell("+model=faster_whisper_base", "task=asr", "dataset=cards_golden_v1")
    assert summary.status == "ok"
    joined = tmp_path / "cache" / "faster_whisper_base"
    assert (joined / "model.bin").stat().st_size > 100_000_000
    assert (joined / ".joined").read_text().startswith("905e5bf8")


def test_adhoc_file_prints_timestamps(results_dir) -> None:
    wav = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
    out = run_cli(
        "modellab", "+model=faster_whisper", "task=asr", f"audio={wav}", f"results_dir={results_dir}", "progress=false"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[00:00:00.000 -->" in out.stdout
    assert "young man" in out.stdout.lower()
    assert connect(results_dir).sql("SELECT count(*) FROM samples").fetchall()[0][0] == 1
