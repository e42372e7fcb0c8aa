"""Cold start on the run row: ``runs.cold_start_s`` is the time from the process's start to its
first model output (the warm-up call's), on the run that made it; later runs of the same process
(a sweep's other cells, the model already warm) record none."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil
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
    before = time.time() - psutil.Process().create_time()  # this process's age before the first run
    first = run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    after = time.time() - psutil.Process().create_time()
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
