"""Translation end to end through the runner: a scripted model, and Whisper base in translate mode."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from modellab.config.registry import load_component
from modellab.datasets.builders.translation import read_pairs
from modellab.models.base import TranslationModel
from modellab.results.store import ResultsStore
from modellab.results.views import connect
from modellab.run.runner import Runner
from modellab.types import Audio, Transcript


@dataclass
class _ScriptOptions:
    text: str


class _ConstantTranslator(TranslationModel):
    Options = _ScriptOptions

    def load(self) -> None:
        pass

    def predict(self, inputs: Audio) -> Transcript:
        return Transcript(self.options.text, language="en")


def test_scripted_translator_run_writes_rows(results_dir) -> None:
    english = read_pairs("data/sources/translation_v1.tsv")[0][2]  # the reference of fr-00
    model = _ConstantTranslator(
        "constant_translator",
        {"family": "test", "capabilities": ["translation"], "license": "MIT"},
        options={"text": english},
    )
    dataset = load_component("dataset", "translate_golden_v1", ["+dataset.limit=3"])
    runner = Runner(
        model,
        load_component("task", "translation"),
        dataset,
        load_component("device", "cpu"),
        load_component("preprocessing", "none"),
        ResultsStore(results_dir),
        progress=False,
    )
    summary = runner.run()
    assert summary.status == "ok" and summary.n_samples == 3
    con = connect(results_dir)
    per = dict(con.sql("SELECT sample_id, bleu FROM samples").fetchall())
    assert per["fr-00"] == pytest.approx(100.0) and per["fr-01"] < 100
    bleu, chrf, signature = con.sql("SELECT bleu, chrf, bleu_signature FROM runs").fetchall()[0]
    assert 0 < bleu < 100 and 0 < chrf < 100 and "tok:13a" in signature


@pytest.mark.slow
def test_whisper_base_translate_run(run_cell, results_dir) -> None:
    summary = run_cell("+model=faster_whisper_base_translate", "task=translation", "+dataset.limit=2")
    assert summary.status == "ok" and summary.n_samples == 2
    con = connect(results_dir)
    model, task, dataset, bleu, chrf = con.sql("SELECT model, task, dataset, bleu, chrf FROM runs").fetchall()[0]
    assert (model, task, dataset) == ("faster_whisper_base_translate", "translation", "translate_golden_v1")
    assert 0 <= bleu <= 100 and 0 < chrf <= 100
    rows = con.sql("SELECT hypothesis, source_language, output FROM samples").fetchall()
    assert all(h and lang == "fr" for h, lang, _ in rows)
    # the source language was given, not detected: Whisper reports it back
    assert all('"language": "fr"' in out for _, _, out in rows)
