"""Cold start on the run row: ``runs.cold_start_s`` is the time from the process's start to its
first model output (the warm-up call's), on the run that made it; later runs of the same process
(a sweep's other cells, the model already warm) record none."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from modellab.results.views import connect
from modellab.run import runner
from tests.conftest import run_cli


def _cold_starts(results: Path) -> dict[str, float | None]:
    rows = connect(results).execute("SELECT run_id, cold_start_s FROM runs").fetchall()
    return {run_id: value for run_id, value in rows}


def test_only_the_run_with_the_process_first_output_records_its_cold_start(
    run_cell: Any, results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_FIRST_OUTPUT", [])  # as in a fresh process: no model output yet
    before = runner.process_age_s()  # this process's age before the first run
    first = run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    after = runner.process_age_s()
    second = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    stored = _cold_starts(results_dir)
    cold = stored[first.run_id]
    assert cold is not None and before <= cold <= after  # the first output came during the first run
    assert stored[second.run_id] is None  # same process, warm model: no cold start of its own


@pytest.mark.slow
def test_a_whole_process_records_a_cold_start_shorter_than_its_wall_time(tmp_path: Path) -> None:
    results = tmp_path / "results"
    start = time.perf_counter()
    done = run_cli("modellab", "+model=dummy_asr", "task=asr", f"results_dir={results}", "progress=false")
    wall = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    (cold,) = _cold_starts(results).values()
    # interpreter start, imports, config, the model's load and warm-up: more than nothing, less
    # than the whole process (which then also runs every sample and writes the rows)
    assert cold is not None and 0.05 < cold < wall


def test_process_age_is_within_a_tick_of_the_time_the_process_ran() -> None:
    """A child that reports its age at once: the age lies inside the parent's wall time around it, to the
    kernel's 10 ms tick. (psutil's create_time() + time.time() was off by +0.23 s on this VM: the boot
    time in /proc/stat is whole seconds.)"""
    code = "from modellab.run.runner import process_age_s; print(process_age_s())"
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - start
        assert 0.0 < float(out) <= wall + 0.02
