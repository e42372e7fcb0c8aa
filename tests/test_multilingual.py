"""Multilingual ASR: each sample's language reaches the model, English-only checkpoints (and
models forcing another language) are refused before they load, non-English runs are scored under
Whisper's basic normaliser, and the run row records the language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modellab.app import build_cell, run_config
from modellab.config.registry import compose_config, load_component
from modellab.models.faster_whisper import FasterWhisperModel
from modellab.tasks.base import CapabilityError, SampleRecord
from modellab.types import Audio, Sample, Transcript

INSTALLED_FR = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz").is_file()


def _never_load(self: Any) -> None:
    raise AssertionError(f"{self.name} loaded before the language check")


@pytest.mark.parametrize("model", ["faster_whisper", "whisper", "whisper_cpp", "hf_whisper"])
def test_an_english_only_checkpoint_refuses_french_before_loading(
    model: str, monkeypatch: pytest.MonkeyPatch, results_dir: Path
) -> None:
    monkeypatch.setattr(FasterWhisperModel, "load", _never_load)
    cfg = compose_config([f"+model={model}", "task=asr", "dataset=asterisk_fr_s40_v1", f"results_dir={results_dir}"])
    with pytest.raises(CapabilityError) as err:
        run_config(cfg)  # the whole run path: the refusal comes before the runner loads anything
    message = str(err.value)
    assert f"model '{model}' transcribes only ['en']" in message
    assert f"conf/model/{model}.yaml info.languages" in message and "samples in ['fr']" in message


def test_a_multilingual_model_forcing_english_is_refused_on_french(results_dir: Path) -> None:
    cfg = compose_config(["+model=faster_whisper_base", "task=asr", "dataset=asterisk_fr_s40_v1"])
    with pytest.raises(CapabilityError, match=r"forces language 'en' .*set model.options.language=from_sample"):
        build_cell(cfg)
    for language in ("from_sample", "auto", "fr"):
        overrides = [f"model.options.language={language}", "+model=faster_whisper_base"]
        build_cell(compose_config([*overrides, "task=asr", "dataset=asterisk_fr_s40_v1"]))  # accepted


def test_english_sets_still_run_on_english_only_models() -> None:
    cell = build_cell(compose_config(["+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1"]))
    assert cell.task.languages == ("en",)
    assert cell.task.metadata()["normalizer"] == "whisper_en"


def test_decoding_language_follows_the_option() -> None:
    model = load_component("model", "faster_whisper_base")
    cases = {"from_sample": "it", "auto": None, "de": "de"}
    for option, expected in cases.items():
        model.options.language = option
        model.set_spoken_language("it")
        assert model.decoding_language() == expected, option
    model.options.language = None
    assert model.decoding_language() is None


class _Recorder:
    """An ASR model stand-in that records the language it was told before each call."""

    def __init__(self) -> None:
        self.told: list[str | None] = []
        self.current: str | None = None
        self.batch_size = 1

    def set_spoken_language(self, language: str | None) -> None:
        self.current = language

    def predict(self, audio: Audio) -> Transcript:
        self.told.append(self.current)
        return Transcript(text="", language=self.current)

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        return [self.predict(a) for a in batch]


def test_each_sample_language_reaches_the_model() -> None:
    task = load_component("task", "asr")
    model = _Recorder()
    audio = Audio(np.zeros(1600, dtype=np.float32))
    samples = [Sample("a", language="fr"), Sample("b", language="es"), Sample("c", language="fr")]
    for s in samples:
        task.predict(model, audio, s)
    assert model.told == ["fr", "es", "fr"]
    model.told.clear()
    task.predict_batch(model, [audio] * 3, samples)  # mixed languages: one call per sample, each told
    assert model.told == ["fr", "es", "fr"]
    model.told.clear()
    task.predict_batch(model, [audio] * 2, [samples[0], samples[2]])
    assert model.told == ["fr", "fr"]


def test_a_french_run_is_scored_under_whisper_basic_and_records_its_language() -> None:
    task = load_component("task", "asr")
    # whisper_basic: "L'homme est là." -> "l homme est là"; hypothesis "l'homme est la" -> "l homme est la":
    # 1 substitution (là/la, diacritics kept) over 4 words = 0.25. "Bonjour !" / "bonjour" -> 0 of 1.
    # Pooled: 1 / 5 = 0.2.
    records = [
        SampleRecord(Sample("a", text="L'homme est là.", language="fr"), output={"text": "l'homme est la"}),
        SampleRecord(Sample("b", text="Bonjour !", language="fr"), output={"text": "bonjour"}),
    ]
    for r in records:
        r.audio_s, r.level_dbfs = 2.0, -20.0
    scores = task.score(records, "golden")
    metrics = {m.name: m.value for m in scores.metrics}
    assert metrics["wer"] == pytest.approx(0.2)
    assert scores.samples[0]["wer"] == pytest.approx(0.25)
    assert "wer_whisper_en" not in metrics and "wer_whisper_basic" in metrics  # whisper_en is English-only
    assert task.metadata() == {
        "normalizer": "whisper_basic",
        "normalizer_version": task.metadata()["normalizer_version"],
        "language": "fr",
    }
    assert task.metadata()["normalizer_version"].startswith("whisper-normalizer==")


@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED_FR, reason="apt-get install asterisk-core-sounds-fr asterisk-core-sounds-fr-wav")
def test_faster_whisper_base_transcribes_french_with_the_language_forced(run_cell, results_dir: Path) -> None:
    from modellab.results.views import connect

    summary = run_cell(
        "+model=faster_whisper_base",
        "model.options.language=fr",
        "task=asr",
        "dataset=asterisk_fr_s40_v1",
        "+dataset.limit=3",
    )
    assert summary.status == "ok" and summary.n_samples == 3
    con = connect(results_dir)
    assert con.sql("SELECT language, normalizer FROM runs").fetchall() == [("fr", "whisper_basic")]
    languages = {row[0] for row in con.sql("SELECT json_extract_string(output, '$.language') FROM samples").fetchall()}
    assert languages == {"fr"}  # the forced language is what Whisper decoded in
    assert summary.metrics["wer"] < 0.6  # French words, not an English transliteration
    ((low, high),) = con.sql("SELECT ci_low, ci_high FROM metrics WHERE name = 'wer'").fetchall()
    assert low is not None and high is not None and low <= summary.metrics["wer"] <= high
