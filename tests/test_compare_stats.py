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
    assert gate.rule("wer").abs == 0.005 and gate.rule("rtfx").rel == 0.30 and gate.rule("rtfx").hardware_bound
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
        for i, (h, r) in enumerate(zip(hyps, refs, strict=True))
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


# --- pairing that matters ----------------------------------------------------------------------

# Ten samples of 10 reference words each with very different error counts; the candidate makes
# exactly one more error on every sample.
_SPREAD_ERRORS = [0, 9, 1, 8, 0, 9, 2, 7, 0, 9]


def test_paired_bootstrap_sees_a_constant_one_error_shift_that_per_sample_variance_hides() -> None:
    base = decompose("wer", _wer_rows([(e, 10) for e in _SPREAD_ERRORS]), {})
    cand = decompose("wer", _wer_rows([(e + 1, 10) for e in _SPREAD_ERRORS]), {})
    # Paired: whichever samples are drawn, the candidate has one more error per 10 words drawn, so
    # every replicate's difference is exactly 0.1: the interval is the point and the shift is significant.
    diff = paired_bootstrap(base, cand, resamples=2000, seed=0, metric="wer")
    assert diff.delta == pytest.approx(0.1)
    assert (diff.low, diff.high) == pytest.approx((0.1, 0.1))
    assert diff.significant and diff.p_value == 0.0 and diff.n_paired == 10
    # Unpaired (each run resampled on its own): the per-sample spread (errors 0..9, sd ≈ 4.2 per 10 words,
    # so sd(WER) ≈ 0.42 / sqrt(10) ≈ 0.13 per run) swamps the 0.1 shift and the interval straddles zero.
    alone_base = bootstrap_interval(base, resamples=2000, seed=1)
    alone_cand = bootstrap_interval(cand, resamples=2000, seed=2)
    assert alone_cand.low - alone_base.high < 0 < alone_cand.high - alone_base.low  # the intervals overlap widely


def test_a_run_paired_with_itself_differs_by_exactly_zero_in_every_replicate() -> None:
    # With shared draws both sides sum the same rows, so every replicate's difference is 0 (p = 1);
    # resampling the two sides independently would spread the difference over about ±0.25 here.
    run = decompose("wer", _wer_rows([(e, 10) for e in _SPREAD_ERRORS]), {})
    same = paired_bootstrap(run, run, resamples=400, seed=5)
    assert (same.delta, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert not same.significant


def test_compare_pairs_only_the_samples_both_runs_share() -> None:
    from modellab.analysis.compare import compare_runs
    from modellab.analysis.rundata import RunData

    def run(run_id: str, errors: dict[str, int]) -> RunData:
        rows = _wer_rows([(e, 10) for e in errors.values()])
        for row, sample_id in zip(rows, errors, strict=True):
            row["sample_id"] = sample_id
        total = sum(errors.values()) / (10 * len(errors))
        row = {"run_id": run_id, "model": run_id, "dataset": "d", "dataset_hash": "h", "normalizer": "basic"}
        return RunData(run_id, row, {"wer": total}, {"wer": False}, rows)

    # baseline s0-s4, candidate s2-s6: they share s2, s3, s4 where the candidate makes one more error each
    baseline = run("base", {"s0": 5, "s1": 5, "s2": 0, "s3": 1, "s4": 2})  # stored WER 13/50
    candidate = run("cand", {"s2": 1, "s3": 2, "s4": 3, "s5": 9, "s6": 9})  # stored WER 24/50
    cmp = compare_runs(baseline, candidate, resamples=300, seed=0)
    assert cmp.n_paired == 3
    assert any("the 3 samples both runs share (baseline 5, candidate 5)" in note for note in cmp.notes)
    wer = cmp.metric("wer")
    assert wer.delta == pytest.approx(24 / 50 - 13 / 50)  # the stored run values, all samples
    # the interval is of the shared samples only: 6/30 - 3/30 = 0.1 in every paired replicate
    assert wer.ci is not None and wer.ci.n_paired == 3
    assert wer.ci.delta == pytest.approx(0.1) and (wer.ci.low, wer.ci.high) == pytest.approx((0.1, 0.1))
    assert [s.sample_id for s in cmp.samples] == ["s2", "s3", "s4"]  # per-sample changes: shared ones only
