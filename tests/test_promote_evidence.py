"""Promotion decides on evidence: quality sets only, unavailable sets skipped, a minimum amount of evidence,
and non-inferiority from the paired interval of candidate - production (pass / fail / undecided).

The runs are built here with chosen per-sample word errors, so every expected interval is worked out by hand:
with the same reference length on every sample, the pooled WER difference of any bootstrap resample is the
mean of the resampled per-sample differences. A constant per-sample difference d therefore gives the
interval [d, d] exactly; differences of +-0.3 in equal halves give a mean whose 95% interval is about
+-1.96 * 0.3 / sqrt(n)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modellab.analysis.gates import load_gate
from modellab.analysis.promote import (
    DatasetInfo,
    ModelEntry,
    Proposal,
    evaluate_model,
    evidence_policy,
    quality_datasets,
    rule_verdict,
)
from modellab.analysis.rundata import RunData
from modellab.config import ConfigError
from modellab.site.build import optional_page_writer
from modellab.site.pages.findings import CandidateRow, write_candidates_page

ASR = {"asr"}


def _run(run_id: str, model: str, dataset: str, errors: list[int], ref_words: int = 10, **row: object) -> RunData:
    """A complete ASR run whose sample i has ``errors[i]`` substitutions out of ``ref_words`` words, 12 s each."""
    samples = [
        {
            "sample_id": f"s{i:03d}",
            "reference": "word " * ref_words,
            "hypothesis": "x",
            "ref_words": ref_words,
            "substitutions": e,
            "deletions": 0,
            "insertions": 0,
            "error": None,
            "duration_s": 12.0,
        }
        for i, e in enumerate(errors)
    ]
    wer = sum(errors) / (ref_words * len(errors))
    base_row = {"model": model, "task": "asr", "dataset": dataset, "status": "ok", "n_samples": len(errors)}
    return RunData(
        run_id,
        {**base_row, **row},
        {"wer": wer, "n_failed": 0.0},
        {"wer": False, "n_failed": False},
        samples,
    )


def _policy(tmp_path: Path, min_samples: int = 30, min_minutes: float = 0) -> object:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n  wer: {abs: 0.01}\n  n_failed: {abs: 0}\n"
        "promotion:\n  gate: default\n  min_gate_pass_rate: 0.95\n  versus_production: best\n"
        f"  evidence: {{min_samples: {min_samples}, min_minutes: {min_minutes}}}\n"
    )
    return load_gate(path)


def _evaluate(tmp_path: Path, runs: list[RunData], statuses: dict[str, str], sets: list[str], **kw: object) -> Proposal:
    registry = {name: ModelEntry(name, status, ["asr"], Path(f"{name}.yaml")) for name, status in statuses.items()}
    by_id = {r.run_id: r for r in runs}
    index = {(r.model, "asr", r.dataset, "none"): r.run_id for r in runs}
    catalog = {ds: DatasetInfo(ds, ["asr"], "quality", "en") for ds in sets}
    return evaluate_model(
        None,
        "cand",
        kw.pop("policy", None) or _policy(tmp_path),
        registry,
        {"asr": sets},
        ASR,
        baselines_root=tmp_path / "no_pins",
        index=index,
        catalog=catalog,
        availability=kw.pop("availability", lambda name: ""),
        loader=by_id.__getitem__,
        **kw,
    )


def _check(proposal: Proposal, fragment: str):
    (check,) = [c for c in proposal.checks if fragment in c.name]
    return check


def test_an_unavailable_set_is_skipped_with_its_reason_never_failed(tmp_path: Path) -> None:
    runs = [_run("c1", "cand", "here", [1] * 40)]
    why = "not available here (downloads once: HF_HUB_OFFLINE=0 python -m modellab.datasets build gone)"
    proposal = _evaluate(
        tmp_path,
        runs,
        {"cand": "experimental"},
        ["gone", "here"],
        availability=lambda name: why if name == "gone" else "",
    )
    skipped = _check(proposal, "asr × gone")
    assert skipped.status == "skipped" and skipped.detail == why and not skipped.passed
    # 40 samples of 12 s = 8 min >= min 30 samples: the skipped set does not stand in the way.
    assert _check(proposal, "evidence").status == "pass" and _check(proposal, "evidence").n == 40
    assert proposal.proposed == "candidate" and "1 skipped (not available here)" in proposal.summary


def test_a_missing_run_on_an_available_set_is_undecided_and_names_the_command(tmp_path: Path) -> None:
    runs = [_run("c1", "cand", "here", [1] * 40)]
    proposal = _evaluate(tmp_path, runs, {"cand": "experimental"}, ["here", "todo"])
    missing = _check(proposal, "asr × todo")
    assert missing.status == "undecided" and missing.command == "python -m modellab +model=cand task=asr dataset=todo"
    assert proposal.proposed == "experimental" and "more data needed" in proposal.summary
    assert proposal.commands == ["python -m modellab +model=cand task=asr dataset=todo"]


def test_a_narrow_interval_within_the_margin_passes(tmp_path: Path) -> None:
    # 200 words per sample, one more error on each: the difference is 1/200 = 0.005 on every resample,
    # so the interval is [0.005, 0.005], inside the margin 0.01.
    runs = [_run("p1", "prod", "set", [4] * 40, 200), _run("c1", "cand", "set", [5] * 40, 200)]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set"])
    vs = _check(proposal, "vs production prod")
    (wer,) = [i for i in vs.intervals if i.metric == "wer"]
    assert wer.low == pytest.approx(0.005) and wer.high == pytest.approx(0.005) and wer.n == 40
    assert vs.status == "pass" and vs.run_ids == ["p1", "c1"]
    assert proposal.proposed == "production"


def test_a_wide_interval_across_the_margin_is_undecided(tmp_path: Path) -> None:
    # Per-sample differences +0.3 and -0.3 in equal halves (n = 40): mean 0, standard error
    # 0.3 / sqrt(40) = 0.047, so the 95% interval is about [-0.093, +0.093]: it holds the margin 0.01.
    prod = [3] * 40
    cand = [6, 0] * 20
    runs = [_run("p1", "prod", "set", prod), _run("c1", "cand", "set", cand)]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set"])
    vs = _check(proposal, "vs production prod")
    (wer,) = [i for i in vs.intervals if i.metric == "wer"]
    assert wer.delta == pytest.approx(0.0)
    assert -0.15 < wer.low < -0.05 and 0.05 < wer.high < 0.15
    assert vs.status == "undecided" and "straddles margin" in vs.detail
    assert proposal.proposed == "candidate" and "more data needed" in proposal.summary


def test_an_interval_entirely_beyond_the_margin_fails(tmp_path: Path) -> None:
    # Two more errors in 10 words on every sample: the interval is [0.2, 0.2], beyond the margin 0.01.
    runs = [_run("p1", "prod", "set", [1] * 40), _run("c1", "cand", "set", [3] * 40)]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set"])
    vs = _check(proposal, "vs production prod")
    assert vs.status == "fail" and vs.detail.startswith("wer rise")
    assert vs.intervals[0].low == pytest.approx(0.2) and vs.intervals[0].high == pytest.approx(0.2)
    assert proposal.proposed == "candidate" and "1 of" in proposal.summary and "fail" in proposal.summary


def test_below_the_minimum_evidence_nothing_is_decided(tmp_path: Path) -> None:
    # The same clear regression as above, but on 5 samples (1 min): below min 30 samples it is undecided,
    # and so is the candidate's own evidence.
    runs = [_run("p1", "prod", "set", [1] * 5), _run("c1", "cand", "set", [3] * 5)]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set"])
    vs = _check(proposal, "vs production prod")
    assert vs.status == "undecided" and vs.n == 5 and vs.minutes == pytest.approx(1.0)
    assert "below the minimum evidence" in vs.detail
    assert _check(proposal, "evidence").status == "undecided"
    assert proposal.proposed == "candidate" and proposal.count("fail") == 0
    # By minutes alone: 5 samples of 12 s are 1 min < 5 min.
    by_minutes = _evaluate(
        tmp_path,
        runs,
        {"cand": "experimental"},
        ["set"],
        policy=_policy(tmp_path, min_samples=0, min_minutes=5),
    )
    assert _check(by_minutes, "evidence").status == "undecided" and by_minutes.proposed == "experimental"


def test_runs_of_different_data_are_not_comparable(tmp_path: Path) -> None:
    runs = [
        _run("p1", "prod", "set", [1] * 40, dataset_hash="aaaa"),
        _run("c1", "cand", "set", [1] * 40, dataset_hash="bbbb"),
    ]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set"])
    vs = _check(proposal, "asr × set: vs production prod")
    assert vs.status == "not comparable" and "dataset_hash" in vs.detail
    assert proposal.proposed == "candidate"


def test_higher_is_better_margins_are_signed_the_right_way() -> None:
    (rule,) = load_gate("promotion").rules[4:5]
    assert rule.metric == "bleu" and rule.abs == 2.0
    # BLEU 30 -> 29: the candidate is 1 point worse; the worsening's interval is [-high, -low].
    assert rule_verdict(rule, 30.0, 29.0, True, -1.5, -0.5, 50)[0] == "pass"  # worsening in [0.5, 1.5] <= 2
    assert rule_verdict(rule, 30.0, 27.0, True, -3.5, -2.5, 50)[0] == "fail"  # worsening in [2.5, 3.5] > 2
    assert rule_verdict(rule, 30.0, 28.0, True, -3.0, -1.0, 50)[0] == "undecided"  # [1, 3] holds 2
    assert rule_verdict(rule, 30.0, 31.0, True, 0.5, 1.5, 50)[0] == "pass"  # better


def test_the_policy_names_the_evidence_and_the_quality_sets() -> None:
    policy = load_gate("promotion")
    evidence = evidence_policy(policy)
    assert evidence.minimum("asr") == (30, 5.0) and evidence.minimum("tts") == (30, 0.0)
    asr = quality_datasets(policy)["asr"]
    assert {"librivox_golden_v1", "cards_golden_v1", "call_turns_golden_v1", "librispeech_test_clean"} <= set(asr)
    assert not {"align_golden_v1", "bench_files_v1", "bench_long_30min_v1", "asr_smoke_v1"} & set(asr)
    assert "align_golden_v1" in quality_datasets(policy)["alignment"]


def test_a_bad_evidence_section_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  wer: {abs: 0.01}\npromotion:\n  evidence: {min_samples: -1}\n")
    with pytest.raises(ConfigError, match=r"p.yaml: promotion.evidence.min_samples"):
        evidence_policy(load_gate(path))


def test_the_candidates_page_shows_every_check_with_its_evidence(tmp_path: Path) -> None:
    runs = [_run("p1", "prod", "set", [4] * 40, 200), _run("c1", "cand", "set", [5] * 40, 200)]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, ["set", "todo"])
    page = write_candidates_page(optional_page_writer(tmp_path / "site"), None, [CandidateRow("cand", proposal)])
    html = page.read_text()
    assert "cand: candidate (proposed: candidate)" in html  # status and proposal
    assert "asr [en]: vs production prod" in html and "+0.005 [+0.005, +0.005] (margin 0.01)" in html
    assert "<td>40 (8.0 min)</td>" in html  # n and minutes behind the comparison
    assert 'href="runs/p1.html"' in html and 'href="runs/c1.html"' in html
    assert "<code>python -m modellab +model=cand task=asr dataset=todo</code>" in html
    assert ">undecided<" in html


def test_a_dataset_must_choose_its_role() -> None:
    from modellab.config import validate_group
    from modellab.config.registry import compose_config

    cfg = compose_config(["+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1", "~dataset.role"])
    with pytest.raises(ConfigError, match=r"conf/dataset/librivox_golden_v1.yaml: missing required keys \['role'\]"):
        validate_group("dataset", cfg.dataset)
    cfg = compose_config(["+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1", "dataset.role=gold"])
    with pytest.raises(ConfigError, match=r"conf/dataset/librivox_golden_v1.yaml.*gold"):
        validate_group("dataset", cfg.dataset)


def test_a_not_comparable_pair_is_left_out_and_missing_production_runs_are_named(tmp_path: Path) -> None:
    runs = [
        _run("p1", "prod", "old", [1] * 40, dataset_hash="aaaa"),
        _run("c1", "cand", "old", [1] * 40, dataset_hash="bbbb"),
        _run("p2", "prod", "new", [1] * 40),
        _run("c2", "cand", "new", [1] * 40),  # the same errors: interval [0, 0], within the margin
        _run("c3", "cand", "extra", [1] * 40),
    ]
    sets = ["old", "new", "extra"]
    proposal = _evaluate(tmp_path, runs, {"cand": "candidate", "prod": "production"}, sets)
    assert _check(proposal, "asr × old: vs production").status == "not comparable"
    pooled = _check(proposal, "asr [en]: vs production prod")
    assert pooled.status == "pass" and pooled.n == 40 and pooled.run_ids == ["p2", "c2"]
    assert proposal.proposed == "production" and "1 not comparable" in proposal.summary
    assert proposal.commands == []  # nothing needed for the decision
    # With a minimum the 40 comparable pairs do not reach, the command names production's missing set.
    strict = _evaluate(
        tmp_path, runs, {"cand": "candidate", "prod": "production"}, sets, policy=_policy(tmp_path, min_samples=60)
    )
    pooled = _check(strict, "asr [en]: vs production prod")
    assert pooled.status == "undecided" and pooled.command == "python -m modellab +model=prod task=asr dataset=extra"
    assert strict.commands == ["python -m modellab +model=prod task=asr dataset=extra"]
