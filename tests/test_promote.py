"""Promotion proposals from real (dummy-model) runs, and the status write that leaves the rest of the YAML alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from modellab.analysis.gates import load_gate
from modellab.analysis.promote import ModelEntry, evaluate_model, model_registry, write_status
from modellab.config import CONF_DIR, ConfigError
from modellab.results.views import connect
from tests.conftest import run_cli

GOOD = "model.options.text='ten of clubs'"
CARDS = {"asr": ["cards_golden_v1"]}
ASR = {"asr"}  # the tasks that count here (streaming_asr etc. are left out of these tests)


def _registry(**statuses: str) -> dict[str, ModelEntry]:
    return {
        name: ModelEntry(name, status, ["asr", "streaming_asr"], Path(f"{name}.yaml"))
        for name, status in statuses.items()
    }


def _policy(tmp_path: Path, min_rate: float) -> object:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n  wer: {abs: 0.01}\n  n_failed: {abs: 0}\n"
        f"promotion: {{gate: default, min_gate_pass_rate: {min_rate}, versus_production: best}}\n"
    )
    return load_gate(path)


def test_missing_evidence_blocks_promotion(results_dir) -> None:
    results_dir.mkdir(parents=True)
    proposal = evaluate_model(
        connect(results_dir), "dummy_asr", registry=_registry(dummy_asr="experimental"), datasets=CARDS, tasks=ASR
    )
    assert proposal.proposed == "experimental" and not proposal.changes
    (check,) = proposal.checks
    assert not check.passed and "python -m modellab +model=dummy_asr task=asr dataset=cards_golden_v1" in check.detail


def test_failing_sanity_gates_keep_a_model_experimental(run_cell, results_dir, tmp_path) -> None:
    run = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD)
    con = connect(results_dir)
    # "ten of clubs" for the 9-word cards-005 is a 3/9 length ratio: 4 of 5 samples pass the gates.
    strict = evaluate_model(con, "dummy_asr", _policy(tmp_path, 0.95), _registry(dummy_asr="experimental"), CARDS, ASR)
    gates = next(c for c in strict.checks if c.name.endswith("sanity gates"))
    assert not gates.passed and "0.800" in gates.detail and gates.run_ids == [run.run_id]
    assert strict.proposed == "experimental"
    lenient = evaluate_model(con, "dummy_asr", _policy(tmp_path, 0.8), _registry(dummy_asr="experimental"), CARDS, ASR)
    assert (
        lenient.proposed == "candidate" and lenient.changes and "promote experimental -> candidate" in lenient.summary
    )


def test_candidate_is_promoted_only_without_regression_against_production(run_cell, results_dir, tmp_path) -> None:
    good = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD)
    bad = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.name=dummy_bad")
    con = connect(results_dir)
    policy = _policy(tmp_path, 0.0)
    up = evaluate_model(con, "dummy_asr", policy, _registry(dummy_asr="candidate", dummy_bad="production"), CARDS, ASR)
    vs = next(c for c in up.checks if "vs production" in c.name)
    assert vs.passed and vs.run_ids == [bad.run_id, good.run_id]
    assert up.proposed == "production"
    down = evaluate_model(
        con, "dummy_bad", policy, _registry(dummy_bad="candidate", dummy_asr="production"), CARDS, ASR
    )
    vs = next(c for c in down.checks if "vs production" in c.name)
    assert not vs.passed and vs.detail.startswith("wer rise")
    assert down.proposed == "candidate"
    # A production model is never demoted, but the proposal says what no longer holds.
    kept = evaluate_model(
        con, "dummy_bad", policy, _registry(dummy_bad="production", dummy_asr="production"), CARDS, ASR
    )
    assert kept.proposed == "production" and "would fail today" in kept.summary


def test_write_status_changes_one_value_and_keeps_comments(tmp_path) -> None:
    path = tmp_path / "faster_whisper.yaml"
    shutil.copy(CONF_DIR / "model" / "faster_whisper.yaml", path)
    before = path.read_text().splitlines()
    write_status(path, "candidate")
    after = path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=False) if a != b]  # lengths: the assert below
    assert len(before) == len(after) and changed == [("  status: production", "  status: candidate")]
    assert "# >1 uses faster-whisper's BatchedInferencePipeline" in path.read_text()
    assert yaml.safe_load(path.read_text())["info"]["status"] == "candidate"


def test_write_status_inserts_a_missing_status_and_refuses_bad_input(tmp_path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ninfo:\n    family: x  # keep me\n    capabilities: [asr]\noptions: {status: 1}\n")
    write_status(path, "candidate")
    doc = yaml.safe_load(path.read_text())
    assert doc["info"] == {"status": "candidate", "family": "x", "capabilities": ["asr"]} and doc["options"] == {
        "status": 1
    }
    assert "# keep me" in path.read_text()
    with pytest.raises(ConfigError, match="status must be one of"):
        write_status(path, "gold")
    (tmp_path / "n.yaml").write_text("name: n\n")
    with pytest.raises(ConfigError, match="n.yaml.*info"):
        write_status(tmp_path / "n.yaml", "candidate")


def test_registry_reads_every_model_yaml() -> None:
    registry = model_registry()
    assert registry["faster_whisper"].status == "production" and "asr" in registry["faster_whisper"].capabilities
    assert registry["dummy_asr"].status == "experimental"


def test_cli_shows_the_evidence(run_cell, results_dir) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD)
    out = run_cli("modellab.analysis.promote", "dummy_asr", "--json", "--results-dir", str(results_dir))
    assert out.returncode == 0, out.stderr
    (proposal,) = json.loads(out.stdout)
    assert proposal["model"] == "dummy_asr" and proposal["current"] == "experimental"
    assert any(c["name"] == "asr × cards_golden_v1: complete" and c["passed"] for c in proposal["checks"])
    assert run_cli("modellab.analysis.promote", "no_such_model").returncode == 2
