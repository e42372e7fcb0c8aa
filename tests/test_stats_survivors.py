"""Tests for the mutants of ``modellab.metrics.stats`` that scripts/mutation.sh found alive (issue 22 item 5):
which ASR rows are scored, the empty-reference branch, the normaliser spread per replicate, BLEU from summed
sentence statistics, signature defaults, ``no_interval_reason`` and ``bootstrap_ci`` without a run row.
Expected values are worked out by hand in the comments; sacrebleu's own corpus score is the oracle for
BLEU/chrF. Fast; part of the stats.py mutation set (docs/testing.md)."""

from __future__ import annotations

import logging
import math

import duckdb
import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF

from modellab.metrics import stats
from modellab.metrics.stats import bootstrap_ci, bootstrap_interval, decompose, no_interval_reason

__all__: list[str] = []

# --- which ASR rows a per-normaliser rate counts -------------------------------------------------

# Under whisper_en (parenthesised text dropped, lower case, punctuation removed):
#   f: failed, though it carries a rate                            -> not scored: (0, 0)
#   e: "(9 seconds of silence)" -> "" with an empty hypothesis      -> scored, 0 insertions: (0, 0)
#   s: "(silence)" -> "" with "thank you"                           -> 2 insertions / 9 chars: (2, 0) / (9, 0)
#   b: ""  (empty under basic too: the task excludes it)            -> not scored: (0, 0)
#   h: "Hello world." -> "hello world" vs "hello word", rate 1/2    -> (1, 2); cer 1/11 -> (1, 11)
_ROWS = [
    ("f", "alpha beta", "alpha", "boom", 0.5, 0.5),
    ("e", "(9 seconds of silence)", "", None, float("nan"), float("nan")),
    ("s", "(silence)", "thank you", None, float("nan"), float("nan")),
    ("b", "", "hi", None, float("nan"), float("nan")),
    ("h", "Hello world.", "hello word", None, 0.5, 1 / 11),
]


def _asr_rows() -> list[dict]:
    return [
        {"sample_id": sid, "reference": ref, "hypothesis": hyp, "error": err, "wer_whisper_en": wer, "cer": cer}
        for sid, ref, hyp, err, wer, cer in _ROWS
    ]


def test_per_normaliser_rates_count_only_scored_rows_and_the_insertions_of_an_emptied_reference() -> None:
    wer = decompose("wer_whisper_en", _asr_rows(), {})
    assert wer.components.tolist() == [[0, 0], [0, 0], [2, 0], [0, 0], [1, 2]]
    assert wer.value() == pytest.approx(3 / 2)  # (2 + 1) / (0 + 2)
    cer = decompose("cer", _asr_rows(), {"normalizer": "whisper_en"})
    assert cer.components.tolist() == [[0, 0], [0, 0], [9, 0], [0, 0], [1, 11]]  # "thank you": 9 characters


def test_a_failed_row_first_or_an_emptied_reference_does_not_stop_the_count() -> None:
    rows = _asr_rows()
    later = decompose("wer_whisper_en", [rows[0], rows[4]], {})  # the failed row first
    assert later.components.tolist() == [[0, 0], [1, 2]]
    after_empty = decompose("wer_whisper_en", [rows[2], rows[4]], {})  # the emptied reference first
    assert after_empty.components.tolist() == [[2, 0], [1, 2]]


# --- the spread over normalisers is max - min within each replicate ----------------------------


def test_the_normaliser_spread_is_taken_per_replicate() -> None:
    rows = [
        {"sample_id": "a", "reference": "a b", "hypothesis": "a b", "error": None, "wer_none": 0.0, "wer_basic": 0.0}
    ]
    spread = decompose("wer_normalizer_spread", rows, {})
    assert spread.method == "max - min pooled WER over none, basic"
    # replicate 1: none 1/2, basic 1/4 -> 1/4; replicate 2: none 1/10, basic 0/10 -> 1/10
    sums = np.array([[1.0, 2.0, 1.0, 4.0], [1.0, 10.0, 0.0, 10.0]])
    assert spread.statistic(sums).tolist() == pytest.approx([0.25, 0.1])


# --- per-sample means: a numeric string is not a value -------------------------------------------


def test_a_numeric_string_is_not_a_per_sample_value() -> None:
    rows = [{"sample_id": "a", "f1": 0.5}, {"sample_id": "b", "f1": "0.5"}, {"sample_id": "c", "f1": 1.0}]
    dec = decompose("f1", rows, {}, stored=0.75)  # (0.5 + 1.0) / 2; counting "0.5" would give 2/3
    assert dec is not None and dec.components.tolist() == [[0.5, 1], [0, 0], [1, 1]]


# --- BLEU / chrF ----------------------------------------------------------------------------------


def _summed_bleu(scorer: BLEU, hyps: list[str], refs: list[str]) -> float:
    stats_rows, score = stats._bleu_statistics(scorer, hyps, refs)
    return score([sum(col) for col in zip(*stats_rows, strict=True)])


def test_bleu_statistics_score_like_the_corpus_scorer_whatever_its_options() -> None:
    # a trigram but no 4-gram matches: the floor value and the n-gram order matter
    hyps = ["the cat sat near a red mat", "a dog barked at night", "hello world again"]
    refs = ["the cat sat on the mat", "the dog barked loudly", "hello world"]
    scorers = [BLEU(), BLEU(smooth_method="floor", smooth_value=0.3), BLEU(max_ngram_order=2)]
    values = [scorer.corpus_score(hyps, [refs]).score for scorer in scorers]
    assert len({round(v, 9) for v in values}) == len(values)  # every option changes the score here
    for scorer, expected in zip(scorers, values, strict=True):
        assert _summed_bleu(scorer, hyps, refs) == pytest.approx(expected), scorer.get_signature()
    # no hypothesis has a 4-gram: with effective order BLEU is the mean over orders 1-3, without it 0
    short_hyps, short_refs = ["the cat sat", "a dog"], ["the cat sat down", "the dog"]
    effective = BLEU(smooth_method="none", effective_order=True)
    expected = effective.corpus_score(short_hyps, [short_refs]).score
    # unigrams 4/5, bigrams 2/3, trigrams 1/1; 5 hypothesis words for 6 reference words: BP = exp(1 - 6/5)
    assert expected == pytest.approx(100 * math.exp(-0.2) * (4 / 5 * 2 / 3 * 1) ** (1 / 3))
    assert BLEU(smooth_method="none").corpus_score(short_hyps, [short_refs]).score == 0
    assert _summed_bleu(effective, short_hyps, short_refs) == pytest.approx(expected)
    assert effective.effective_order is True and scorers[0].effective_order is False  # scorers left as they were


def test_bleu_of_a_corpus_without_any_matching_word_is_zero() -> None:
    rows = [{"sample_id": "a", "hypothesis": "w x y z", "reference": "a b c d", "error": None}]
    run = {"bleu_signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp"}
    # 4, 3, 2 and 1 n-grams, none matching: BLEU 0 (sacrebleu stops early; exp smoothing would give more)
    assert decompose("bleu", rows, run).value() == 0.0


def test_bleu_sentence_statistics_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    rows = [{"sample_id": "a", "hypothesis": "the cat sat", "reference": "the cat sat down", "error": None}]
    with caplog.at_level(logging.WARNING, logger="sacrebleu"):
        decompose("bleu", rows, {"bleu_signature": "tok:13a"})
    assert not [r for r in caplog.records if "effective_order" in r.getMessage()]


def test_a_signature_without_tokenizer_or_word_order_means_13a_and_plain_chrf() -> None:
    hyps, refs = ["The cat sat on the mat."], ["the cat sat on a mat"]
    rows = [{"sample_id": "a", "hypothesis": hyps[0], "reference": refs[0], "error": None}]
    run = {"bleu_signature": "case:mixed", "chrf_signature": "case:mixed"}
    assert decompose("bleu", rows, run).value() == pytest.approx(BLEU(tokenize="13a").corpus_score(hyps, [refs]).score)
    plain = CHRF(word_order=0).corpus_score(hyps, [refs]).score
    assert plain != pytest.approx(CHRF(word_order=2).corpus_score(hyps, [refs]).score)
    assert decompose("chrf", rows, run).value() == pytest.approx(plain)


def test_a_signature_value_is_everything_after_the_first_colon() -> None:
    assert stats._signature_field("nrefs:1|tok:a:b|case:lc", "tok") == "a:b"
    assert stats._signature_field("nrefs:1|case:lc", "tok") is None


# --- why an interval is missing ------------------------------------------------------------------


def _wer_row(sample_id: str, errors: int, words: int) -> dict:
    row = {"sample_id": sample_id, "reference": "x", "hypothesis": "y", "error": None}
    return row | {"substitutions": errors, "deletions": 0, "insertions": 0, "ref_words": words, "wer": errors / words}


def test_no_interval_reason_when_the_decomposition_reproduces_the_value() -> None:
    rows = [_wer_row("a", 1, 4)]
    assert no_interval_reason("wer", None, rows, {}) == "no finite value to resample"
    # 1/4 is what the row gives, so only the replicates can be at fault
    assert (
        no_interval_reason("wer", 0.25, rows, {})
        == "the bootstrap replicates are not finite (too few samples with a non-zero denominator)"
    )


# --- bootstrap_ci without a runs row, and its default seed -----------------------------------------

_SPREAD = [(0, 4), (3, 3), (1, 5), (4, 4), (0, 6), (2, 2), (5, 9), (1, 1)]  # (errors, words): 16 / 34


def _connection_without_a_run_row() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE samples (run_id TEXT, sample_id TEXT, reference TEXT, hypothesis TEXT, error TEXT, "
        "substitutions INT, deletions INT, insertions INT, ref_words INT, wer DOUBLE)"
    )
    for i, (errors, words) in enumerate(_SPREAD):
        con.execute(
            "INSERT INTO samples VALUES ('w', ?, 'x', 'y', NULL, ?, 0, 0, ?, ?)",
            [f"s{i}", errors, words, errors / words],
        )
    con.execute("CREATE TABLE metrics (run_id TEXT, name TEXT, value DOUBLE, higher_is_better BOOLEAN)")
    con.execute("INSERT INTO metrics VALUES ('w', 'wer', ?, false)", [16 / 34])
    con.execute("CREATE TABLE runs_raw (run_id TEXT, normalizer TEXT)")  # no row for run w
    return con


def test_bootstrap_ci_without_a_run_row_uses_seed_0() -> None:
    con = _connection_without_a_run_row()
    ci = bootstrap_ci(con, "w", "wer")
    assert ci is not None and ci.value == pytest.approx(16 / 34) and ci.n_samples == 8
    dec = decompose("wer", [_wer_row(f"s{i}", e, n) for i, (e, n) in enumerate(_SPREAD)], {})
    seed0, seed1 = bootstrap_interval(dec, seed=0), bootstrap_interval(dec, seed=1)
    assert (seed0.low, seed0.high) != (seed1.low, seed1.high)  # this spread moves with the seed
    assert (ci.low, ci.high) == (seed0.low, seed0.high)
    assert math.isfinite(ci.low) and ci.low <= 16 / 34 <= ci.high
