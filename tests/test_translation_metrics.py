"""Translation metrics (BLEU, chrF) against hand-computed values, and the task's scoring and routing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.config.schema import ConfigError
from modellab.datasets.base import DatasetError
from modellab.datasets.builders.translation import read_pairs
from modellab.metrics.translation import TranslationScorer
from modellab.models.base import TranslationModel
from modellab.tasks.base import SampleRecord
from modellab.types import Audio, Sample, Transcript

SCORER = TranslationScorer(tokenize="13a", lowercase=False, chrf_word_order=0)


def test_bleu_hand_computed() -> None:
    # hyp "the cat sat on the mat" vs ref "the cat sat on a mat": clipped n-gram precisions
    # 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty. BLEU = geometric mean.
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert SCORER.corpus(["the cat sat on the mat"], ["the cat sat on a mat"])["bleu"] == pytest.approx(expected)
    assert SCORER.sentence("the cat sat on the mat", "the cat sat on a mat")["bleu"] == pytest.approx(expected)
    assert SCORER.corpus(["Same words here."], ["Same words here."])["bleu"] == pytest.approx(100.0)


def test_bleu_brevity_penalty_hand_computed() -> None:
    # hyp is the first 4 of 8 reference tokens: all precisions 1, BP = exp(1 - 8/4) = e^-1.
    out = SCORER.corpus(["a b c d"], ["a b c d e f g h"])
    assert out["bleu"] == pytest.approx(100 * np.exp(-1.0))


def test_chrf_hand_computed() -> None:
    # chars of "ab" vs "abc": order 1 P=2/2 R=2/3, order 2 P=1/1 R=1/2, orders 3-6 have no hypothesis
    # n-grams (skipped). Mean P=1, R=7/12; F2 = 5*P*R / (4P + R) = (35/12) / (55/12) = 7/11.
    assert SCORER.corpus(["ab"], ["abc"])["chrf"] == pytest.approx(700 / 11)
    assert SCORER.corpus(["a b"], ["abc"])["chrf"] == pytest.approx(700 / 11)  # whitespace is ignored


def test_corpus_scores_pool_statistics() -> None:
    # Pooled n-gram counts: unigrams 4/5, bigrams 3/3, trigrams 2/2, 4-grams 1/1 (the one-word pair adds
    # only a unigram) -> BLEU = (4/5)^(1/4); the mean of the sentence scores (100 and 0) would be 50.
    out = SCORER.corpus(["a b c d", "x"], ["a b c d", "y"])
    assert out["bleu"] == pytest.approx(100 * 0.8**0.25)
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        SCORER.corpus(["a", "b"], ["a"])


def test_lowercase_and_signatures() -> None:
    assert SCORER.corpus(["The Cat sat down"], ["the cat sat down"])["bleu"] < 100
    lower = TranslationScorer(tokenize="13a", lowercase=True, chrf_word_order=2)
    assert lower.corpus(["The Cat sat down"], ["the cat sat down"])["bleu"] == pytest.approx(100.0)
    sig = lower.signatures()
    assert "tok:13a" in sig["bleu_signature"] and "case:lc" in sig["bleu_signature"]
    assert "nw:2" in sig["chrf_signature"]  # chrF++


def test_task_scores_records() -> None:
    task = load_component("task", "translation")
    records = [
        SampleRecord(
            Sample("fr-00", text="the cat sat on a mat", language="fr"), output={"text": "the cat sat on the mat"}
        ),
        SampleRecord(Sample("de-00", text="hello there", language="de"), output={"text": ""}),
        SampleRecord(Sample("es-00", text="x", language="es"), error="boom"),
    ]
    scores = task.score(records, "golden")
    first, empty, failed = scores.samples
    assert first["bleu"] == pytest.approx(100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert first["source_language"] == "fr" and empty["empty_output"] is True and failed["hypothesis"] is None
    metrics = {m.name: m for m in scores.metrics}
    assert metrics["n_scored"].value == 2 and metrics["bleu"].higher_is_better is True
    assert metrics["empty_output_rate"].value == pytest.approx(0.5)
    assert "bleu_signature" in task.metadata()


@dataclass
class _NoOpts:
    pass


class _Recorder(TranslationModel):
    """Says which entry point the task used (and with which source language)."""

    Options = _NoOpts

    def load(self) -> None:
        pass

    def predict(self, inputs: Audio) -> Transcript:
        return Transcript("predict")


class _LanguageAware(_Recorder):
    def translate(self, audio: Audio, source_language: str) -> Transcript:
        return Transcript(f"translate:{source_language}")


def test_source_language_goes_to_models_that_accept_it() -> None:
    task = load_component("task", "translation")
    audio = Audio(np.zeros(160, dtype=np.float32))
    sample = Sample("de-01", language="de")
    info = {"family": "test", "capabilities": ["translation"], "license": "MIT"}
    assert task.predict(_LanguageAware("aware", info), audio, sample).text == "translate:de"
    assert task.predict(_Recorder("plain", info), audio, sample).text == "predict"
    off = load_component("task", "translation", ["task.options.give_source_language=false"])
    assert off.predict(_LanguageAware("aware", info), audio, sample).text == "predict"


def test_whisper_translate_config_is_checked_before_loading() -> None:
    model = load_component("model", "faster_whisper_base_translate")
    assert isinstance(model, TranslationModel) and model.options.task == "translate" and model.options.language is None
    with pytest.raises(ConfigError, match="options.task must be 'translate'"):
        load_component("model", "faster_whisper_base_translate", ["model.options.task=transcribe"])
    with pytest.raises(ConfigError, match="English-only"):
        load_component("model", "faster_whisper_base_translate", ["model.weights.revision=tiny.en"])


def test_translation_pairs_file(tmp_path) -> None:
    rows = read_pairs("data/sources/translation_v1.tsv")
    assert len(rows) == 15 and {lang for lang, _, _ in rows} == {"fr", "de", "es"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("fr\tonly two columns\n")
    with pytest.raises(DatasetError, match="bad.tsv:1"):
        read_pairs(bad)


# --- the bootstrap's BLEU statistics come from sacrebleu's public API ---------------------------------

_PAIRS = [
    ("the cat sat on the mat", "the cat sat on a mat"),
    ("a dog barked", "the dog barked loudly"),
    ("", "an empty hypothesis"),
    ("Hello there, World!", "hello world"),
    ("one", "one"),
    ("it is tokenised already .", "It is tokenised already."),
    ("numbers 1,000 and 3.5 % stay", "numbers 1,000 and 3.5% stay"),
    ("short", "a much longer reference sentence with many words in it"),
]


def _rows() -> list[dict]:
    rows = [{"sample_id": str(i), "hypothesis": h, "reference": r, "error": None} for i, (h, r) in enumerate(_PAIRS)]
    rows.append({"sample_id": "failed", "hypothesis": None, "reference": "never scored", "error": "boom"})
    return rows


def _private_bleu_decomposition(rows: list[dict], tokenize: str, lowercase: bool):  # noqa: ANN202
    """What the bootstrap computed before the switch: sacrebleu's private corpus statistics."""
    from sacrebleu.metrics import BLEU

    from modellab.metrics.stats import Decomposition

    scorer = BLEU(tokenize=tokenize, lowercase=lowercase)
    scored = [i for i, r in enumerate(rows) if r["error"] is None]
    stats = scorer._extract_corpus_statistics(
        [rows[i]["hypothesis"] for i in scored], [[rows[i]["reference"] for i in scored]]
    )
    comp = np.zeros((len(rows), len(stats[0])))
    comp[scored] = np.array(stats, dtype=float)

    def statistic(sums: np.ndarray) -> np.ndarray:
        return np.array([scorer._compute_score_from_stats([int(round(v)) for v in row]).score for row in sums])

    return Decomposition(comp, statistic, "corpus bleu from summed sentence statistics"), scorer


@pytest.mark.parametrize(("tokenize", "lowercase"), [("13a", False), ("13a", True), ("intl", False), ("char", False)])
def test_bleu_bootstrap_is_identical_through_the_public_api(tokenize: str, lowercase: bool) -> None:
    from modellab.metrics.stats import bootstrap_interval, decompose

    rows = _rows()
    old, scorer = _private_bleu_decomposition(rows, tokenize, lowercase)
    stored = scorer.corpus_score([h for h, _ in _PAIRS], [[r for _, r in _PAIRS]]).score
    new = decompose("bleu", rows, {"bleu_signature": str(scorer.get_signature())}, stored=stored)
    assert new is not None and new.value() == stored
    np.testing.assert_array_equal(new.components, old.components)
    draws = np.random.default_rng(0).integers(0, 3, size=(50, len(rows)))  # resampled multiplicities
    sums = draws @ old.components
    np.testing.assert_array_equal(new.statistic(sums), old.statistic(sums))
    assert bootstrap_interval(new, resamples=300, seed=1) == bootstrap_interval(old, resamples=300, seed=1)
