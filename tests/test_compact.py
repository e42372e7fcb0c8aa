"""Compaction of per-run Parquet files: few files, no row lost or doubled, views unchanged,
safe against concurrent writers and against a crash in the middle."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modellab.results.compact import COMPACTED_PREFIX, compact
from modellab.results.store import ResultsStore
from modellab.results.views import connect
from tests.conftest import run_cli


def _write_runs(root: Path, first: int, count: int, samples_per_run: int = 3) -> None:
    """``count`` complete runs in the store's real format (the run row written last)."""
    store = ResultsStore(root)
    for i in range(first, first + count):
        run_id = f"20260101T000000-{i:06x}"
        samples = [
            {"run_id": run_id, "sample_id": f"s{j}", "wer": (i + j) / 100, "hypothesis": f"h{i}-{j}"}
            for j in range(samples_per_run)
        ]
        # Odd runs carry an extra per-sample column, as runs of another task would.
        if i % 2:
            for row in samples:
                row["gate_extra"] = True
        metrics = [{"run_id": run_id, "name": "wer", "value": i / 100, "higher_is_better": False}]
        run = {"run_id": run_id, "model": f"m{i % 3}", "dataset": "d", "status": "ok", "cell_key": f"k{i}"}
        store.write_run(run, samples, metrics)


def _snapshot(root: Path) -> dict[str, list[tuple]]:
    con = connect(root)
    return {
        "runs": con.sql("SELECT run_id, model, status, wer FROM runs ORDER BY run_id").fetchall(),
        "samples": con.sql(
            "SELECT run_id, sample_id, wer, hypothesis, gate_extra FROM samples ORDER BY run_id, sample_id"
        ).fetchall(),
        "metrics": con.sql("SELECT run_id, name, value FROM metrics ORDER BY run_id").fetchall(),
        "leaderboard": con.sql(
            "SELECT model, count(*), round(avg(wer), 6) FROM runs GROUP BY model ORDER BY model"
        ).fetchall(),
    }


def _files(root: Path, table: str) -> list[Path]:
    return sorted((root / table).glob("*.parquet"))


def test_compaction_keeps_every_row_and_the_views(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write_runs(root, 0, 40)
    before = _snapshot(root)
    assert len(before["runs"]) == 40 and len(before["samples"]) == 120
    reports = compact(root)
    assert {r.table: (r.files_before, r.files_after, r.rows) for r in reports} == {
        "runs": (40, 1, 40),
        "samples": (40, 1, 120),
        "metrics": (40, 1, 40),
    }
    for table in ("runs", "samples", "metrics"):
        (only,) = _files(root, table)
        assert only.name.startswith(COMPACTED_PREFIX)
    assert _snapshot(root) == before
    # The runner's cell cache still finds a compacted run.
    assert connect(root).sql("SELECT run_id FROM runs WHERE cell_key = 'k7'").fetchall() == [
        ("20260101T000000-000007",)
    ]


def test_repeated_compactions_stay_few_files(tmp_path: Path) -> None:
    root = tmp_path / "results"
    for batch in range(5):
        _write_runs(root, batch * 10, 10)
        compact(root, max_files=3)
        assert len(_files(root, "samples")) <= 3
    snap = _snapshot(root)
    assert len(snap["runs"]) == 50 and len(snap["samples"]) == 150
    assert len({(r[0], r[1]) for r in snap["samples"]}) == 150  # no duplicates
    assert compact(root, max_files=1)[1].files_after == 1
    assert _snapshot(root) == snap


def test_incomplete_run_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write_runs(root, 0, 3)
    # A run being written: samples and metrics are there, its run row not yet.
    store = ResultsStore(root)
    store.write_atomic("samples", "20260101T000000-ffffff", [{"run_id": "20260101T000000-ffffff", "sample_id": "x"}])
    compact(root)
    assert (root / "samples" / "20260101T000000-ffffff.parquet").exists()
    store.write_atomic("runs", "20260101T000000-ffffff", [{"run_id": "20260101T000000-ffffff", "status": "ok"}])
    compact(root)
    assert not (root / "samples" / "20260101T000000-ffffff.parquet").exists()
    assert len(_snapshot(root)["samples"]) == 10


def test_crash_after_the_rename_is_repaired_without_loss(tmp_path: Path) -> None:
    """Simulate a kill between 'merged file renamed into place' and 'sources removed'."""
    root = tmp_path / "results"
    _write_runs(root, 0, 6)
    backup = tmp_path / "backup"
    shutil.copytree(root, backup)
    compact(root)
    for table in ("runs", "samples", "metrics"):  # the sources come back, as if never removed
        for src in (backup / table).glob("*.parquet"):
            shutil.copy2(src, root / table / src.name)
    (root / "samples" / ".compacting-x.parquet.tmp").write_bytes(b"half a file")  # and a temp file
    reports = compact(root)
    assert {r.table: r.repaired for r in reports} == {"runs": 6, "samples": 6, "metrics": 6}
    assert not list((root / "samples").glob(".compacting-*"))
    snap = _snapshot(root)
    assert len(snap["runs"]) == 6 and len(snap["samples"]) == 18


def _writer(root: str, first: int, count: int) -> None:
    _write_runs(Path(root), first, count)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write_runs(root, 0, 5)
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_writer, args=(str(root), 1000 * (w + 1), 60)) for w in range(2)]
    for proc in writers:
        proc.start()
    rounds = 0
    while any(p.is_alive() for p in writers) or rounds < 2:
        compact(root, max_files=2)
        rounds += 1
    for proc in writers:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    compact(root, max_files=1)
    con = connect(root)
    assert con.sql("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchall() == [(125, 125)]
    assert con.sql("SELECT count(*), count(DISTINCT (run_id, sample_id)) FROM samples").fetchall() == [(375, 375)]
    assert len(_files(root, "samples")) == 1


def test_rows_of_the_merged_file_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modellab.results import compact as module

    root = tmp_path / "results"
    _write_runs(root, 0, 4)
    real_rows = module._rows
    monkeypatch.setattr(module, "_rows", lambda paths: real_rows(paths) + (1 if len(paths) == 1 else 0))
    with pytest.raises(module.CompactionError, match="sources kept"):
        compact(root)
    assert len(_files(root, "runs")) == 4  # nothing removed
    assert not [p for p in os.listdir(root / "runs") if p.startswith(".compacting")]


def test_cli(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write_runs(root, 0, 3)
    out = run_cli("modellab.results.compact", "--results-dir", str(root))
    assert out.returncode == 0, out.stderr
    assert "samples: 3 files -> 1 (9 rows, 3 merged)" in out.stdout
    assert pq.read_table(_files(root, "runs")[0]).num_rows == 3
    missing = run_cli("modellab.results.compact", "--results-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no results store" in missing.stderr


def test_a_sweep_compacts_once_more_runs_than_the_threshold_pile_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    results = tmp_path / "results"
    _write_runs(results, 0, 3)  # runs stored earlier, one file each

    def sweep(threshold: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "modellab",
                "-m",
                "+model=dummy_asr",
                "task=asr",
                "dataset=cards_golden_v1,librivox_golden_v1",
                f"results_dir={results}",
                f"hydra.sweep.dir={tmp_path / f'multirun{threshold}'}",
                f"compact_above={threshold}",
                "progress=false",
                "force=true",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )

    out = sweep(10)  # 5 runs stored: under the threshold, nothing merged
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(_files(results, "runs")) == 5
    out = sweep(6)  # 7 runs: merged
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"compacted {results}: runs 7 files -> 1" in out.stdout
    assert len(_files(results, "runs")) == 1 and len(_files(results, "samples")) == 1
    assert connect(results).sql("SELECT count(*) FROM runs").fetchall() == [(7,)]
