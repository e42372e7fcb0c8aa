"""``modellab.analysis.compare`` and ``modellab.analysis.baselines`` on real runs (the dummy model; faster-whisper when slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modellab.analysis.baselines import check_runs, find_pin, load_pin, pin_run
from modellab.analysis.compare import compare_runs, format_report
from modellab.analysis.gates import load_gate
from modellab.analysis.rundata import RunNotFoundError, load_run, resolve_run
from modellab.results.views import connect
from tests.conftest import run_cli

GOOD = "model.options.text='ten of clubs'"  # the reference of cards-001


@pytest.fixture
def two_dummy_runs(run_cell) -> tuple[str, str]:
    """Baseline says "ten of clubs" to every card; the candidate says an unrelated 8-word sentence."""
    base = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", GOOD)
    cand = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    return base.run_id, cand.run_id


def test_compare_reports_deltas_with_paired_intervals_and_per_sample_changes(two_dummy_runs, results_dir) -> None:
    con = connect(results_dir)
    base, cand = (load_run(con, r) for r in two_dummy_runs)
    cmp = compare_runs(base, cand, resamples=500, seed=3)
    wer = cmp.metric("wer")
    assert wer.delta == pytest.approx(cand.metrics["wer"] - base.metrics["wer"]) and wer.verdict == "worse"
    # Every card gets worse, so every resample's difference is positive.
    assert wer.ci is not None and wer.ci.low > 0 and wer.ci.significant and wer.ci.low <= wer.delta <= wer.ci.high
    for name in ("wer_none", "wer_basic", "wer_whisper_en", "wer_normalizer_spread", "cer", "rtfx"):
        assert cmp.metric(name).ci is not None, name
    assert cmp.metric("peak_rss_mb").ci is None  # not decomposable over samples
    assert cmp.rank_metric == "wer" and cmp.n_paired == 5
    assert [s.status for s in cmp.samples] == ["worse"] * 5
    deltas = [s.delta for s in cmp.samples]
    assert deltas == sorted(deltas, reverse=True)  # worst first
    first = next(s for s in cmp.samples if s.sample_id == "cards-001")
    # whisper_en: ref "10 of clubs"; hyp "he was not an ill disposed young man" = 3 substitutions + 5 insertions.
    assert (first.baseline, first.candidate) == pytest.approx((0.0, 8 / 3))
    report = format_report(cmp)
    assert "95% CI (delta)" in report and "WER by normaliser" in report and "whisper_en" in report
    assert "worse, worst first" in report and "he was not an ill disposed young man" in report


def test_comparing_a_run_with_itself_changes_nothing_and_passes_the_gate(two_dummy_runs, results_dir) -> None:
    con = connect(results_dir)
    run = load_run(con, two_dummy_runs[0])
    cmp = compare_runs(run, run, resamples=200, gate=load_gate("default"))
    assert all(m.delta == 0 for m in cmp.metrics)
    assert not cmp.gate_failed and {r.status for r in cmp.gate_results} <= {"pass", "skipped"}
    assert {s.status for s in cmp.samples} == {"same"}


def test_cli_gate_fails_with_exit_code_1_and_says_why(two_dummy_runs, results_dir, tmp_path: Path) -> None:
    base, cand = two_dummy_runs
    quality = tmp_path / "quality.yaml"  # the dummy's speed is noise: gate quality only in reverse
    quality.write_text("rules:\n  wer: {abs: 0.005}\n  cer: {abs: 0.005}\n")
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    out = run_cli(
        "modellab.analysis.compare", base, cand, "--gate", "conf/gates/default.yaml", "--resamples", "200", env=env
    )
    assert out.returncode == 1, out.stderr
    assert "REGRESSION" in out.stdout and "wer" in out.stdout and "FAIL" in out.stdout
    assert run_cli("modellab.analysis.compare", base, cand, "--resamples", "50", env=env).returncode == 0  # no gate
    js = run_cli(
        "modellab.analysis.compare", cand, base, "--gate", str(quality), "--json", "--resamples", "50", env=env
    )
    data = json.loads(js.stdout)
    assert js.returncode == 0 and data["gate"]["passed"] and data["metrics"][0]["metric"] == "wer"
    bad = run_cli("modellab.analysis.compare", "no_such_run", cand, env=env)
    assert bad.returncode == 2 and "dummy_asr" in bad.stderr


def test_model_names_resolve_to_the_latest_run(two_dummy_runs, results_dir, run_cell) -> None:
    con = connect(results_dir)
    assert resolve_run(con, "dummy_asr", "cards_golden_v1") == two_dummy_runs[1]
    with pytest.raises(RunNotFoundError, match="preprocessing=add_noise"):
        resolve_run(con, "dummy_asr:preprocessing=add_noise_snr0", "cards_golden_v1")
    with pytest.raises(RunNotFoundError, match="KEY=VALUE"):
        resolve_run(con, "dummy_asr:colour=blue", "cards_golden_v1")
    run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    with pytest.raises(RunNotFoundError, match="--dataset"):
        resolve_run(connect(results_dir), "dummy_asr")


def test_pinned_baseline_round_trips_and_gates_later_runs(two_dummy_runs, results_dir, tmp_path: Path) -> None:
    con = connect(results_dir)
    good, bad = (load_run(con, r) for r in two_dummy_runs)
    root = tmp_path / "baselines"
    path = pin_run(good, root)
    assert path == root / good.hardware / "dummy_asr" / "cards_golden_v1.yaml"
    doc = yaml.safe_load(path.read_text())
    assert doc["run_id"] == good.run_id and doc["metrics"]["wer"]["value"] == pytest.approx(good.metrics["wer"])
    pinned = load_pin(path)
    assert pinned.hardware == good.hardware and len(pinned.samples) == 5
    same = compare_runs(pinned, good, resamples=100, gate=load_gate("default"))
    assert not same.gate_failed and same.metric("wer").ci.delta == 0
    # The two runs differ in the dummy's options: another setup, so the pin is not comparable with the bad run.
    (check,) = check_runs(con, [bad.run_id], load_gate("default"), resamples=100, root=root)
    assert check.status == "not comparable" and check.exact
    assert "model_options" in check.comparison.comparability.reason()
    assert check.repin_command() == f"python -m modellab baselines pin {bad.run_id}"
    # The same setup giving worse output (as after a code change): a regression.
    _same_setup_as(path, bad)
    (check,) = check_runs(con, [bad.run_id], load_gate("default"), resamples=100, root=root)
    assert check.status == "FAIL" and check.exact
    assert find_pin("dummy_asr", "cards_golden_v1", "cpu-other-chip", root=root) == (path, False)
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    out = run_cli(
        "modellab.analysis.baselines", "--baselines-dir", str(root), "check", bad.run_id, "--resamples", "50", env=env
    )
    assert out.returncode == 1 and "FAIL" in out.stdout and "wer" in out.stdout


def _same_setup_as(pin: Path, run) -> None:
    """Rewrite a pin's setup fields to ``run``'s, keeping its outputs and scores."""
    from modellab.analysis.comparable import identity_fields

    doc = yaml.safe_load(pin.read_text())
    doc["run"].update({k: v for k, v in identity_fields(run).items() if k in doc["run"]})
    pin.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_changed_dataset_is_not_comparable_never_a_regression(two_dummy_runs, results_dir, tmp_path) -> None:
    """Issue 23: a pin of other audio (another content hash) gives "not comparable" with the differing
    field and the re-pin command, whatever the metrics say; the CLI exits 0 unless --require-pin."""
    con = connect(results_dir)
    good, bad = (load_run(con, r) for r in two_dummy_runs)
    root = tmp_path / "baselines"
    path = pin_run(good, root)
    _same_setup_as(path, bad)
    doc = yaml.safe_load(path.read_text())
    doc["run"]["dataset_hash"] = "0000000000000000"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (check,) = check_runs(con, [bad.run_id], load_gate("default"), resamples=50, root=root)
    assert check.status == "not comparable"
    diff = check.comparison.comparability.quality
    assert [d.field for d in diff] == ["dataset_hash"] and diff[0].baseline == "0000000000000000"
    assert diff[0].candidate == bad.row["dataset_hash"]
    assert not check.comparison.gate_failed and check.comparison.verdict == "not comparable"
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    args = ("modellab.analysis.baselines", "--baselines-dir", str(root), "check", bad.run_id, "--resamples", "50")
    out = run_cli(*args, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not comparable" in out.stdout and "dataset_hash: 0000000000000000 ->" in out.stdout
    assert f"python -m modellab baselines pin {bad.run_id}" in out.stdout
    assert run_cli(*args, "--require-pin", env=env).returncode == 1


def test_compare_gate_on_other_data_says_not_comparable(two_dummy_runs, results_dir, tmp_path) -> None:
    """compare compares two setups on the same data; a different normaliser is other data: exit 3."""
    con = connect(results_dir)
    good, bad = (load_run(con, r) for r in two_dummy_runs)
    same = compare_runs(good, bad, resamples=50, gate=load_gate("default"))
    assert same.comparability.comparable and same.verdict == "FAIL"  # two models on one dataset: comparable
    bad.row["normalizer_version"] = "whisper-normalizer==0.0.1"
    other = compare_runs(good, bad, resamples=50, gate=load_gate("default"))
    assert other.verdict == "not comparable" and not other.gate_failed
    assert [d.field for d in other.comparability.quality] == ["normalizer_version"]
    assert "NOT COMPARABLE" in format_report(other)


@pytest.mark.slow
def test_noisier_preprocessing_fails_the_gate_on_real_faster_whisper_runs(run_cell, results_dir) -> None:
    """The issue's done-when: faster-whisper on cards, clean vs white noise at 0 dB SNR."""
    clean = run_cell("+model=faster_whisper", "task=asr", "dataset=cards_golden_v1")
    noisy = run_cell(
        "+model=faster_whisper",
        "task=asr",
        "dataset=cards_golden_v1",
        "preprocessing=add_noise",
        "preprocessing.steps.0.snr_db=0",
    )
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    args = ["--dataset", "cards_golden_v1", "--gate", "conf/gates/default.yaml", "--resamples", "500", "--json"]
    out = run_cli(
        "modellab.analysis.compare", "faster_whisper", "faster_whisper:preprocessing=add_noise_snr0", *args, env=env
    )
    assert out.returncode == 1, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert (data["baseline"]["run_id"], data["candidate"]["run_id"]) == (clean.run_id, noisy.run_id)
    cer = next(m for m in data["metrics"] if m["metric"] == "cer")
    assert cer["delta"] > 0 and cer["ci"]["low"] <= cer["delta"] <= cer["ci"]["high"]
    failed = {r["metric"] for r in data["gate"]["results"] if r["status"] == "fail"}
    assert "cer" in failed or "wer" in failed
    text = run_cli("modellab.analysis.compare", clean.run_id, noisy.run_id, "--resamples", "200", env=env)
    assert text.returncode == 0 and "95% CI (delta)" in text.stdout and "add_noise_snr0" in text.stdout
