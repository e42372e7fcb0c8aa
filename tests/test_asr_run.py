"""The ASR runner end to end with the dummy model: Parquet written, views answer SQL, gates fire."""

from __future__ import annotations

import pytest

from modellab.results.views import connect
from tests.conftest import run_cli


def test_dummy_run_writes_runs_samples_metrics(run_cell, results_dir) -> None:
    summary = run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    assert summary.status == "ok" and summary.n_samples == 5
    con = connect(results_dir)
    run = con.sql(
        "SELECT model, task, dataset, device, preprocessing, status, n_samples, n_failed, wer, cer, rtfx, "
        "normalizer, git_sha, dataset_hash, config_hash FROM runs"
    ).fetchall()
    assert len(run) == 1
    model, task, dataset, device, prep, status, n, n_failed, wer, cer, rtfx, norm, sha, dhash, chash = run[0]
    assert (model, task, dataset, device, prep, status, n, n_failed) == (
        "dummy_asr",
        "asr",
        "librivox_golden_v1",
        "cpu",
        "none",
        "ok",
        5,
        0,
    )
    assert norm == "whisper_en" and sha and dhash and chash
    # The dummy says "he was not an ill disposed young man" (= sample 0880's reference) for every clip.
    per = dict(con.sql("SELECT sample_id, wer FROM samples").fetchall())
    assert per["librivox-sense_and_sensibility_01_austen_64kb-0880"] == 0.0
    assert all(v > 0 for k, v in per.items() if not k.endswith("0880"))
    assert 0 < wer < 1 and 0 < cer < 1 and rtfx > 0
    # By hand (whisper_en words), hypothesis "he was not an ill disposed young man" (8 words) against:
    #   0870 (22 words, none shared): 8 S + 14 D = 22    0880 (the same 8 words): 0
    #   0890 (14 words): 8 S + 6 D = 14 (matching "ill disposed" costs the same 14)
    #   0920 (19 words): "he" matches its 2nd word, 1 D before it, then 7 S + 10 D after it = 18
    #   0930 (8 words, "he" first): 7 S = 7
    # pooled: (22 + 0 + 14 + 18 + 7) / (22 + 8 + 14 + 19 + 8) = 61/71 ≈ 0.859, not the mean of the five
    # per-clip WERs (1 + 0 + 1 + 18/19 + 7/8) / 5 ≈ 0.764
    assert wer == pytest.approx(61 / 71)
    counts = con.sql("SELECT sum(substitutions + deletions + insertions), sum(ref_words) FROM samples").fetchall()
    assert counts == [(61, 71)]
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert {"wer", "cer", "rtf", "rtfx", "load_s", "peak_rss_mb", "wer_none", "wer_basic", "wer_whisper_en"} <= names


def test_raw_hypothesis_is_stored_unnormalised(run_cell, results_dir) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text='Ten of Clubs!'")
    hyps = {r[0] for r in connect(results_dir).sql("SELECT hypothesis FROM samples").fetchall()}
    assert hyps == {"Ten of Clubs!"}


def test_smoke_set_gates_without_references(run_cell, results_dir) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=asr_smoke_v1")
    rows = dict(connect(results_dir).sql("SELECT sample_id, gate_empty_output FROM samples").fetchall())
    # The dummy says nothing for digital silence (gate passes), but "hears" text in -60 dBFS hiss (fails).
    assert rows["silence-00"] is True
    assert rows["silence-01"] is False
    assert all(v for k, v in rows.items() if not k.startswith("silence"))


def test_unchanged_cell_is_reused_and_force_recomputes(run_cell, results_dir) -> None:
    first = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    again = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    assert again.cached and again.run_id == first.run_id
    forced = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "force=true")
    assert not forced.cached and forced.run_id != first.run_id


def test_changed_option_recomputes(run_cell) -> None:
    first = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    other = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text='five five'")
    assert not other.cached and other.run_id != first.run_id


def test_query_cli_formats(run_cell, results_dir) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    out = run_cli("modellab.results.query", "SELECT model, dataset, wer, rtfx FROM runs ORDER BY wer", env=env)
    assert out.returncode == 0, out.stderr
    assert "dummy_asr" in out.stdout and "cards_golden_v1" in out.stdout
    out = run_cli("modellab.results.query", "--format", "json", "SELECT model, n_samples FROM runs", env=env)
    assert '"n_samples": 5' in out.stdout
    out = run_cli("modellab.results.query", "--format", "csv", "SELECT model FROM runs", env=env)
    assert out.stdout.splitlines() == ["model", "dummy_asr"]
    bad = run_cli("modellab.results.query", "SELECT nope FROM runs", env=env)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_capability_is_checked_before_loading(run_cell) -> None:
    from modellab.tasks.base import CapabilityError

    with pytest.raises(CapabilityError, match="dummy_asr.*asr"):
        run_cell("+model=dummy_asr", "task=asr", "model.info.capabilities=[vad]")


def test_missing_model_lists_valid_ones() -> None:
    out = run_cli("modellab", "task=asr")
    assert out.returncode != 0
    assert "+model=" in out.stderr and "faster_whisper" in out.stderr


def test_adhoc_video_file_writes_the_same_artifacts(results_dir, tmp_path) -> None:
    import subprocess

    clip = "/usr/share/pocketsphinx/test/data/cards/005.wav"
    video = tmp_path / "talk.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=32x32:d=4",
            "-i",
            clip,
            "-shortest",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(video),
        ],
        check=True,
    )
    out = run_cli(
        "modellab", "+model=dummy_asr", "task=asr", f"audio={video}", f"results_dir={results_dir}", "progress=false"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "he was not an ill disposed young man" in out.stdout and "-->" in out.stdout
    con = connect(results_dir)
    assert con.sql("SELECT dataset, status, n_samples FROM runs").fetchall() == [("adhoc:talk.mp4", "ok", 1)]
    assert con.sql("SELECT audio_path FROM samples").fetchall() == [(str(video),)]
    assert (results_dir / "artifacts").is_dir()
