"""TTS end to end through the CLI path: espeak-ng (fast, no weights) and Piper + the faster-whisper
round trip (real installed weights, slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from modellab.results.views import connect


def test_espeak_run_keeps_audio_and_records_health(run_cell, results_dir: Path) -> None:
    summary = run_cell(
        "+model=espeak_ng",
        "task=tts",
        "dataset=tts_smoke_v1",
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    assert summary.status == "ok" and summary.n_samples == 4
    con = connect(results_dir)
    rows = con.sql(
        "SELECT sample_id, reference, artifact, duration_s, output_duration_s, gates_passed, speaking_rate_wps, "
        "audio_path FROM samples ORDER BY sample_id"
    ).fetchall()
    assert [r[0] for r in rows] == ["names-01", "numbers-01", "plain-01", "plain-04"]
    for sample_id, reference, artifact, duration, out_duration, passed, rate, audio_path in rows:
        wav = Path(artifact)
        assert wav.name == f"{sample_id}.wav" and wav.parent.name == "audio"
        assert wav.parent.parent.name == summary.run_id  # artifacts/<run_id>/audio/<sample>.wav
        info = soundfile.info(str(wav))
        assert info.samplerate == 22050 and info.channels == 1  # espeak-ng's native rate, kept
        assert info.frames / info.samplerate == pytest.approx(duration, abs=1e-3) == pytest.approx(out_duration)
        assert passed is True and 1.0 < rate < 5.0
        assert reference and audio_path is None
    run = con.execute("SELECT audio_s, rtfx, gate_pass_rate, intelligibility_asr FROM runs").fetchall()[0]
    assert run[0] == pytest.approx(sum(r[3] for r in rows), rel=1e-6)  # RTFx counts generated seconds
    assert run[1] > 0 and run[2] == 1.0 and run[3] is None
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert "wer" not in names and "time_to_first_audio_s" not in names  # round trip off; espeak does not stream


def test_espeak_long_word_gaps_fail_the_internal_silence_gate(run_cell, results_dir: Path) -> None:
    run_cell(
        "+model=espeak_ng",
        "task=tts",
        "dataset=tts_smoke_v1",
        "model.options.word_gap=200",  # 2 s between words
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    rows = dict(connect(results_dir).sql("SELECT sample_id, gate_internal_silence FROM samples").fetchall())
    assert rows["plain-04"] is True  # "Hello." has no gap between words
    assert rows["plain-01"] is False and rows["names-01"] is False


def test_unknown_espeak_voice_is_refused_with_the_file_named(run_cell) -> None:
    with pytest.raises(ValueError, match=r"conf/model/espeak_ng.yaml options.voice.*nosuchvoice"):
        run_cell(
            "+model=espeak_ng",
            "task=tts",
            "dataset=tts_smoke_v1",
            "model.options.voice=nosuchvoice",
            "task.options.intelligibility.asr_model=null",
            "task.options.quality.predictors=[]",
        )


def test_tts_refuses_asr_models(run_cell) -> None:
    from modellab.tasks.base import CapabilityError

    with pytest.raises(CapabilityError, match="cannot run task 'tts'"):
        run_cell("+model=faster_whisper", "task=tts", "dataset=tts_smoke_v1")


@pytest.mark.slow
def test_piper_with_round_trip_whisper(run_cell, results_dir: Path) -> None:
    pytest.importorskip("piper")
    summary = run_cell("+model=piper", "task=tts", "dataset=tts_smoke_v1")
    assert summary.status == "ok"
    con = connect(results_dir)
    rows = con.sql(
        "SELECT sample_id, hypothesis, wer, first_audio_s, compute_s, artifact, gates_passed FROM samples"
    ).fetchall()
    for sample_id, hyp, wer, first, compute, artifact, passed in rows:
        assert hyp and wer is not None
        assert 0 < first <= compute  # the first sentence arrives before the call returns
        assert soundfile.info(artifact).samplerate == 22050
        assert passed is True, sample_id
    m = dict(con.sql("SELECT name, value FROM metrics").fetchall())
    # Piper's clean read speech of four short prompts: the round trip recovers nearly every word.
    assert m["wer"] < 0.3 and m["cer"] < 0.2
    assert m["time_to_first_audio_s"] > 0 and m["rtfx"] > 0
    run = con.execute("SELECT intelligibility_asr, normalizer FROM runs").fetchall()[0]
    assert run == ("faster_whisper", "whisper_en")
