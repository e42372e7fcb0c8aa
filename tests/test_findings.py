"""Findings from real (dummy-model) runs: recommendations with their evidence, and honest "no evidence"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modellab.analysis.findings import evaluate_findings, load_use_cases
from modellab.config import ConfigError
from modellab.results.views import connect
from modellab.site.build import optional_page_writer
from modellab.site.pages.findings import write_findings_pages
from modellab.site.shaping import run_page as _run_href

GOOD = "model.options.text='ten of clubs'"

USE_CASES = """
use_cases:
  - id: best_cards
    title: Best card reader
    task: asr
    datasets: [cards_golden_v1]
    rank_by: wer
  - id: impossibly_fast
    title: Card reader faster than light
    task: asr
    datasets: ["cards_*"]
    require: {rtfx: {min: 1.0e12}}
    rank_by: wer
  - id: vad
    title: Fastest VAD with F1 >= 0.9
    task: vad
    require: {f1: {min: 0.9}}
    rank_by: rtfx
"""


@pytest.fixture
def runs(run_cell) -> dict[str, str]:
    good = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD, "model.name=dummy_good")
    bad = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.name=dummy_bad")
    return {"dummy_good": good.run_id, "dummy_bad": bad.run_id}


@pytest.fixture
def use_cases(tmp_path: Path) -> list:
    path = tmp_path / "findings.yaml"
    path.write_text(USE_CASES)
    return load_use_cases(path)


def test_recommendation_names_the_winner_with_runs_numbers_and_margin(runs, results_dir, use_cases) -> None:
    con = connect(results_dir)
    best, fast, vad = evaluate_findings(con, use_cases, resamples=300)
    assert best.status == "recommendation" and best.winner.model == "dummy_good"
    wer = dict(con.execute("SELECT model, wer FROM runs").fetchall())
    (entry,) = best.winner.runs
    assert entry["run_id"] == runs["dummy_good"] and entry["wer"] == pytest.approx(wer["dummy_good"])
    assert entry["ci95"][0] <= entry["wer"] <= entry["ci95"][1]
    (margin,) = best.versus_runner_up
    assert margin["runner_up"] == "dummy_bad" and margin["runner_up_run_id"] == runs["dummy_bad"]
    assert margin["delta"] == pytest.approx(wer["dummy_good"] - wer["dummy_bad"]) and margin["significant"]
    assert [m.model for m in best.ranking] == ["dummy_good", "dummy_bad"]


def test_no_qualifying_evidence_is_said_not_scored(runs, results_dir, use_cases) -> None:
    _, fast, vad = evaluate_findings(connect(results_dir), use_cases, resamples=100)
    assert fast.status == "no_evidence" and fast.winner is None
    assert "no model qualifies" in fast.reason and "rtfx" in fast.reason
    assert all(not m.qualifies and "< 1e+12" in m.why_not for m in fast.ranking)
    assert vad.status == "no_evidence" and vad.ranking == [] and "no complete vad runs" in vad.reason
    assert fast.as_dict()["recommendation"] is None


def test_findings_page_links_every_claim_to_its_run(runs, results_dir, use_cases, tmp_path, monkeypatch) -> None:
    import modellab.analysis.findings as findings

    monkeypatch.setattr(findings, "load_use_cases", lambda path=None: use_cases)
    site = tmp_path / "site"
    page = write_findings_pages(optional_page_writer(site), connect(results_dir))
    text = page.read_text()
    assert page == site / "findings.html"
    for run_id in runs.values():
        assert f'href="{_run_href(run_id)}"' in text
    assert "Recommendation: dummy_good" in text and "No qualifying evidence" in text
    data = json.loads((site / "findings.json").read_text())
    assert [f["status"] for f in data] == ["recommendation", "no_evidence", "no_evidence"]
    assert data[0]["recommendation"]["runs"][0]["run_id"] == runs["dummy_good"]
    candidates = (site / "candidates.html").read_text()
    assert "faster_whisper" in candidates and "dummy_asr" in candidates


def test_use_case_files_are_validated(tmp_path: Path) -> None:
    assert {u.id for u in load_use_cases()} >= {
        "accurate_asr_realtime_cpu",
        "fastest_vad_f1_090",
        "best_diarizer_two_speaker_calls",
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("use_cases:\n  - {id: x, title: X, task: asr, rank_by: wer, require: {rtfx: 10}}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*require.rtfx"):
        load_use_cases(bad)
    bad.write_text("use_cases:\n  - {id: x, title: X, task: asr}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*rank_by"):
        load_use_cases(bad)


def test_shared_datasets_rank_on_what_every_model_ran_on() -> None:
    from modellab.analysis.findings import shared_datasets

    # the default store's case: tiny.en has a 4th dataset that base lacks; both are ranked on the 3 shared
    both = {"faster_whisper": {"a", "b", "c", "d"}, "faster_whisper_base": {"a", "b", "c"}}
    assert shared_datasets(both) == (["a", "b", "c"], [])
    # nothing shared by all three: the model with the fewest datasets is left out, not the others
    assert shared_datasets({"x": {"a", "b"}, "y": {"a", "b"}, "z": {"c"}}) == (["a", "b"], ["z"])
    assert shared_datasets({"x": {"a"}}) == (["a"], [])


SHARED_USE_CASES = """
use_cases:
  - id: shared
    title: Best reader on the shared datasets
    task: asr
    datasets: [cards_golden_v1, librivox_golden_v1]
    rank_by: wer
"""


def test_a_model_missing_one_dataset_is_ranked_on_the_shared_ones(run_cell, results_dir, tmp_path) -> None:
    """dummy_good lacks a run on librivox: it used to be disqualified, handing the recommendation to the
    model that is worse on the one dataset both ran on. Now both are ranked on cards_golden_v1 only."""
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD, "model.name=dummy_good")
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.name=dummy_bad")
    run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "model.name=dummy_bad")
    path = tmp_path / "shared.yaml"
    path.write_text(SHARED_USE_CASES)
    con = connect(results_dir)
    (finding,) = evaluate_findings(con, load_use_cases(path), resamples=300)
    assert finding.datasets == ["cards_golden_v1"]
    assert [m.model for m in finding.ranking] == ["dummy_good", "dummy_bad"]
    assert finding.status == "recommendation" and finding.winner.model == "dummy_good"
    wer = dict(con.execute("SELECT model, wer FROM runs WHERE dataset = 'cards_golden_v1'").fetchall())
    assert finding.ranking[1].score == pytest.approx(wer["dummy_bad"])  # librivox is not in its mean
    (extra,) = [e for e in finding.ranking[1].runs if e["dataset"] == "librivox_golden_v1"]
    assert extra["shared"] is False
    (margin,) = finding.versus_runner_up
    assert margin["significant"] and margin["n_paired"] == 5 and "n=5 samples" in finding.evidence


def test_inseparable_models_are_tied_and_a_lone_model_is_not_recommended(run_cell, results_dir, tmp_path) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.name=dummy_a")
    path = tmp_path / "one.yaml"
    path.write_text(SHARED_USE_CASES)
    (single,) = evaluate_findings(connect(results_dir), load_use_cases(path), resamples=200)
    assert single.status == "single" and single.winner is None and "nothing to compare" in single.reason
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.name=dummy_b")  # the same output
    (tied,) = evaluate_findings(connect(results_dir), load_use_cases(path), resamples=200)
    assert tied.status == "tied" and tied.winner is None and "cannot be separated" in tied.reason
    assert tied.versus_runner_up[0]["significant"] is False
