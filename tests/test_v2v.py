"""Voice to voice: hand-computed stage latencies and WERs, a cascade run with the dummy ASR (fast),
and the real faster-whisper -> espeak-ng / Piper cascades (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modellab.config.registry import load_component
from modellab.results.views import connect
from modellab.tasks.base import SampleRecord
from modellab.types import Sample


def _health() -> dict:
    return {
        "duration_s": 1.2,
        "n_samples": 1000,
        "non_finite": 0,
        "peak": 0.9,
        "clipping_ratio": 0.0,
        "dc_offset": 0.0,
        "lufs": -20.0,
        "leading_silence_s": 0.1,
        "trailing_silence_s": 0.1,
        "max_internal_silence_s": 0.2,
        "speech_s": 1.0,
    }


def _record(sid: str, ref: str, heard_by_asr: str, said: str, stages: dict, compute: float, **kw) -> SampleRecord:
    output = {
        "transcript": heard_by_asr,
        "translation": kw.get("translation"),
        "tts_text": said,
        "stages_s": stages,
        "first_audio_s": kw.get("first"),
        "output_duration_s": 1.2,
        "sample_rate": 16000,
        "health": _health(),
    }
    return SampleRecord(Sample(sid, text=ref), output, compute_s=compute, artifact=f"/x/{sid}.wav")


def test_v2v_scores_by_hand() -> None:
    task = load_component("task", "v2v")
    heard = {"/x/a.wav": "the cat sat down", "/x/b.wav": "red grey", "/x/c.wav": "le chat"}
    task.transcribe_artifact = heard.__getitem__  # a stand-in for the round-trip ASR model
    records = [
        _record(
            "a", "the cat sat", "the cat sat down", "the cat sat down", {"asr_s": 0.2, "tts_s": 0.4}, 0.7, first=0.5
        ),
        _record(
            "b", "red green blue black", "red grey blue", "red grey blue", {"asr_s": 0.4, "tts_s": 0.6}, 1.1, first=0.7
        ),
        _record(
            "c",
            "the cat",
            "the cat",
            "le chat",
            {"asr_s": 0.3, "translation_s": 0.5, "tts_s": 0.5},
            1.3,
            translation="le chat",
        ),
    ]
    m = {x.name: x.value for x in task.score(records, "golden").metrics}
    # ASR stage vs reference: 1 insertion / 3, then 1 substitution + 1 deletion / 4, then 0 / 2.
    assert m["asr_wer"] == pytest.approx(3 / 9)
    # TTS stage (what was said vs what the round trip heard): 0/4, 1 deletion/3, 0/2.
    assert m["tts_wer"] == pytest.approx(1 / 9)
    # End to end (reference vs the round trip), only without a translation stage: 1/3 and 3/4.
    assert m["wer"] == pytest.approx(4 / 7)
    assert m["asr_s_mean"] == pytest.approx(0.3)
    assert m["tts_s_mean"] == pytest.approx(0.5)
    assert m["translation_s_mean"] == pytest.approx(0.5)
    assert m["end_to_end_s_mean"] == pytest.approx((0.7 + 1.1 + 1.3) / 3)
    assert m["time_to_first_audio_s"] == pytest.approx(0.6)
    assert m["gate_pass_rate"] == 1.0


def test_cascade_run_with_the_dummy_asr(run_cell, results_dir: Path) -> None:
    summary = run_cell(
        "+model=cascade_whisper_espeak",
        "task=v2v",
        "model.options.asr=dummy_asr",
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    assert summary.status == "ok" and summary.n_samples == 3
    con = connect(results_dir)
    rows = con.sql("SELECT transcript, tts_text, asr_s, tts_s, compute_s, artifact, asr_wer FROM samples").fetchall()
    for transcript, said, asr_s, tts_s, compute_s, artifact, asr_wer in rows:
        assert transcript == said == "he was not an ill disposed young man"
        assert asr_s >= 0 and tts_s > 0 and compute_s >= asr_s + tts_s
        assert Path(artifact).is_file()
        assert asr_wer == 1.0  # the dummy's sentence shares no word with any reference
    m = dict(con.sql("SELECT name, value FROM metrics").fetchall())
    assert m["asr_wer"] == 1.0 and "wer" not in m
    assert m["rtfx"] > 0 and m["end_to_end_s_mean"] > 0


def test_cascade_with_a_translation_stage(run_cell, results_dir: Path) -> None:
    run_cell(
        "+model=cascade_whisper_espeak",
        "task=v2v",
        "+dataset.limit=1",
        "model.options.asr=dummy_asr",
        "model.options.translation=dummy_asr",  # any audio -> text model can stand in for a translator
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    con = connect(results_dir)
    translation, said, translation_s = con.sql("SELECT translation, tts_text, translation_s FROM samples").fetchall()[0]
    assert translation == said == "he was not an ill disposed young man" and translation_s >= 0
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert "translation_s_mean" in names and "wer" not in names  # no end-to-end WER across languages


def test_cascade_stage_of_the_wrong_kind_is_refused() -> None:
    model = load_component("model", "cascade_whisper_espeak", ["model.options.tts=faster_whisper"])
    with pytest.raises(TypeError, match="options.tts: 'faster_whisper' is a FasterWhisperModel"):
        model.check_requirements()


@pytest.mark.slow
def test_whisper_espeak_cascade_round_trip(run_cell, results_dir: Path) -> None:
    summary = run_cell("+model=cascade_whisper_espeak", "task=v2v")
    assert summary.status == "ok"
    con = connect(results_dir)
    m = dict(con.sql("SELECT name, value FROM metrics").fetchall())
    assert {"wer", "cer", "asr_wer", "tts_wer", "asr_s_mean", "tts_s_mean", "end_to_end_s_mean"} <= set(m)
    assert m["asr_wer"] < 0.3  # tiny.en hears clean espeak-ng speech well
    for hyp, ref in con.sql("SELECT hypothesis, reference FROM samples").fetchall():
        assert hyp and ref


@pytest.mark.slow
def test_whisper_piper_cascade_streams_first_audio(run_cell, results_dir: Path) -> None:
    pytest.importorskip("piper")
    run_cell(
        "+model=cascade_whisper_piper",
        "task=v2v",
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    rows = connect(results_dir).sql("SELECT first_audio_s, asr_s, compute_s FROM samples").fetchall()
    for first, asr_s, compute_s in rows:
        assert asr_s < first <= compute_s  # first audio comes after hearing, before the call returns
