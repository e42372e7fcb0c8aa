"""Bootstrap intervals over samples and the regression-gate rules, on hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from modellab.analysis.gates import GateRule, evaluate_rule, load_gate
from modellab.config import ConfigError
from modellab.metrics.stats import Decomposition, bootstrap_interval, decompose, paired_bootstrap


def _wer_rows(pairs: list[tuple[int, int]]) -> list[dict]:
    """Sample rows as the ASR task stores them: (errors, reference words) -> substitutions, ref_words, wer."""
    return [
        {
            "sample_id": f"s{i}",
            "reference": "x",
            "hypothesis": "y",
            "error": None,
            "substitutions": e,
            "deletions": 0,
            "insertions": 0,
            "ref_words": n,
            "wer": e / n,
        }
        for i, (e, n) in enumerate(pairs)
    ]


def test_wer_decomposition_is_pooled_not_a_mean_of_rates() -> None:
    rows = _wer_rows([(1, 1), (0, 3)])
    dec = decompose("wer", rows, {}, stored=0.25)  # (1 + 0) / (1 + 3), not mean(1.0, 0.0) = 0.5
    assert dec is not None and dec.value() == pytest.approx(0.25)
    assert decompose("wer", rows, {}, stored=0.5) is None  # refuses what it cannot reproduce


def test_single_sample_interval_is_the_point() -> None:
    dec = decompose("wer", _wer_rows([(2, 5)]), {}, stored=0.4)
    ci = bootstrap_interval(dec, resamples=200, seed=1, metric="wer")
    assert (ci.value, ci.low, ci.high) == pytest.approx((0.4, 0.4, 0.4))


def test_paired_bootstrap_on_two_samples_matches_the_exact_distribution() -> None:
    # Baseline errors/words: s0 1/1, s1 0/3.  Candidate: s0 1/1, s1 3/3.
    # Resampled index multisets and the WER difference (candidate - baseline):
    #   {s0,s0} p=1/4: 2/2 - 2/2 = 0;  {s0,s1} p=1/2: 4/4 - 1/4 = 0.75;  {s1,s1} p=1/4: 6/6 - 0/6 = 1.
    base = decompose("wer", _wer_rows([(1, 1), (0, 3)]), {})
    cand = decompose("wer", _wer_rows([(1, 1), (3, 3)]), {})
    diff = paired_bootstrap(base, cand, resamples=20000, seed=0, metric="wer")
    assert diff.delta == pytest.approx(1.0 - 0.25)
    assert (diff.low, diff.high) == pytest.approx((0.0, 1.0))
    assert diff.p_value == pytest.approx(0.5, abs=0.03)  # 2 × P(diff <= 0) = 2 × 1/4
    assert not diff.significant


def test_paired_bootstrap_is_seeded_and_significant_when_every_sample_worsens() -> None:
    base = decompose("wer", _wer_rows([(0, 4), (1, 5), (0, 3), (1, 6)]), {})
    cand = decompose("wer", _wer_rows([(2, 4), (3, 5), (1, 3), (2, 6)]), {})
    a = paired_bootstrap(base, cand, resamples=500, seed=7)
    b = paired_bootstrap(base, cand, resamples=500, seed=7)
    assert (a.low, a.high) == (b.low, b.high)
    assert a.low > 0 and a.significant and a.p_value == 0.0
    assert a.delta == pytest.approx(8 / 18 - 2 / 18)


def test_speed_and_gate_rate_decompose_from_sample_columns() -> None:
    rows = [
        {"sample_id": "a", "duration_s": 4.0, "compute_s": 1.0, "error": None, "gates_passed": True},
        {"sample_id": "b", "duration_s": 2.0, "compute_s": 1.0, "error": None, "gates_passed": False},
        {"sample_id": "c", "duration_s": 9.0, "compute_s": 9.0, "error": "boom", "gates_passed": None},
    ]
    assert decompose("rtfx", rows, {}, stored=3.0).value() == pytest.approx(6 / 2)  # failed sample excluded
    assert decompose("rtf", rows, {}).value() == pytest.approx(2 / 6)
    assert decompose("gate_pass_rate", rows, {}, stored=0.5).value() == pytest.approx(0.5)
    assert decompose("peak_rss_mb", rows, {}, stored=300.0) is None  # run-level only: no interval


def test_unknown_per_sample_metric_falls_back_to_a_mean_that_reproduces_the_run_value() -> None:
    rows = [{"sample_id": "a", "f1": 0.5, "duration_s": 1.0}, {"sample_id": "b", "f1": 1.0, "duration_s": 3.0}]
    assert decompose("f1", rows, {}, stored=0.75).method == "mean over samples"
    assert decompose("f1", rows, {}, stored=0.875).method == "duration-weighted mean over samples"
    assert decompose("f1", rows, {}, stored=0.6) is None


def test_nan_statistics_do_not_poison_the_interval() -> None:
    comp = np.array([[1.0, 2.0], [0.0, 0.0]])  # the second sample has no reference words
    with np.errstate(invalid="ignore"):
        ci = bootstrap_interval(Decomposition(comp, lambda s: s[:, 0] / s[:, 1], "ratio"), resamples=100)
    assert ci.value == 0.5 and ci.low == 0.5 and ci.high == 0.5


# --- gate rules --------------------------------------------------------------------------------


def test_absolute_rule_lets_half_a_point_of_wer_through() -> None:
    rule = GateRule("wer", abs=0.005)
    assert evaluate_rule(rule, 0.100, 0.104, False, True).status == "pass"
    failed = evaluate_rule(rule, 0.100, 0.106, False, True)
    assert failed.failed and failed.worsening == pytest.approx(0.006) and "abs 0.005" in failed.reason
    assert evaluate_rule(rule, 0.100, 0.050, False, True).reason == "improved by 0.05"


def test_relative_rule_follows_the_metric_direction() -> None:
    rule = GateRule("rtfx", rel=0.10)
    assert evaluate_rule(rule, 20.0, 18.5, True, True).status == "pass"  # -7.5%
    assert evaluate_rule(rule, 20.0, 17.0, True, True).failed  # -15%
    assert evaluate_rule(rule, 20.0, 40.0, True, True).status == "pass"  # faster is fine


def test_both_allowances_take_the_larger() -> None:
    rule = GateRule("wer", abs=0.01, rel=0.5)
    assert math.isclose(rule.allowance(0.1), 0.05)
    assert math.isclose(rule.allowance(0.01), 0.01)


def test_rule_edge_cases() -> None:
    assert evaluate_rule(GateRule("der", abs=0.0), None, None, False, True).status == "skipped"
    assert evaluate_rule(GateRule("wer", abs=0.0), 0.1, None, False, True).failed
    hw = GateRule("rtfx", rel=0.1, hardware_bound=True)
    assert evaluate_rule(hw, 20.0, 1.0, True, same_hardware=False).status == "skipped"
    noisy = GateRule("wer", abs=0.0, significant=True)
    assert evaluate_rule(noisy, 0.1, 0.2, False, True, significant_worsening=False).status == "pass"
    assert evaluate_rule(noisy, 0.1, 0.2, False, True, significant_worsening=True).failed


def test_gate_files_load_and_bad_ones_name_the_file(tmp_path: Path) -> None:
    gate = load_gate("default")
    assert gate.rule("wer").abs == 0.005 and gate.rule("rtfx").rel == 0.10 and gate.rule("rtfx").hardware_bound
    assert load_gate("promotion").promotion["versus_production"] == "best"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  wer: {absolute: 0.1}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*wer.*absolute"):
        load_gate(bad)
    bad.write_text("rules:\n  wer: {abs: -1}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*>= 0"):
        load_gate(bad)
    with pytest.raises(ConfigError, match="no such gate"):
        load_gate("nope")


def test_diarization_error_rate_pools_over_scored_speech_time() -> None:
    rows = [
        {"sample_id": "a", "der": 0.5, "scored_speech_s": 2.0},  # 1 s of errors
        {"sample_id": "b", "der": 0.1, "scored_speech_s": 8.0},  # 0.8 s of errors
    ]
    dec = decompose("der", rows, {}, stored=1.8 / 10.0)
    assert dec is not None and dec.value() == pytest.approx(0.18)  # not mean(0.5, 0.1) = 0.3


def test_corpus_bleu_and_chrf_decompose_into_sentence_statistics() -> None:
    from sacrebleu.metrics import BLEU, CHRF

    hyps = ["the cat sat on the mat", "a dog barked", "hello there world", None]
    refs = ["the cat sat on a mat", "the dog barked loudly", "hello world", "never answered"]
    rows = [
        {"sample_id": str(i), "hypothesis": h, "reference": r, "error": None if h else "boom"}
        for i, (h, r) in enumerate(zip(hyps, refs))
    ]
    bleu, chrf = BLEU(tokenize="13a"), CHRF()
    scored_h, scored_r = hyps[:3], [refs[:3]]
    expected_bleu = bleu.corpus_score(scored_h, scored_r).score
    expected_chrf = chrf.corpus_score(scored_h, scored_r).score
    run = {"bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}
    assert decompose("bleu", rows, run, stored=expected_bleu).value() == pytest.approx(expected_bleu)
    dec = decompose("chrf", rows, run, stored=expected_chrf)
    ci = bootstrap_interval(dec, resamples=200, seed=0, metric="chrf")
    assert ci.value == pytest.approx(expected_chrf) and ci.low <= ci.value <= ci.high
