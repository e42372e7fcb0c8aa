"""Parallel and distributed sweeps: the threads policy (workers × threads ≤ cores), a local joblib
sweep, the SLURM job that submitit generates (and its payloads run as a node would run them),
Ray against a local instance (when the `ray` extra is installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from modellab.device import Device, available_cores, choose_split, thread_budget, workers_for
from modellab.results.compact import compact
from modellab.results.views import connect
from tests.conftest import REPO
from tests.logged_asr import write_model_config


def _sweep(tmp: Path, *overrides: str, env: dict[str, str] | None = None, timeout: int = 300):
    cmd = [
        sys.executable,
        "-m",
        "modellab",
        "-m",
        f"hydra.searchpath=[file://{tmp / 'conf'}]",
        f"hydra.sweep.dir={tmp / 'multirun'}",
        "task=asr",
        f"results_dir={tmp / 'results'}",
        "progress=false",
        *overrides,
    ]
    return subprocess.run(
        cmd, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def test_thread_budget_keeps_workers_times_threads_within_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thread_budget(2, workers=1, cores=2) == 2
    assert thread_budget(2, workers=2, cores=2) == 1
    assert thread_budget(4, workers=1, cores=2) == 2  # more threads than cores never helps
    assert thread_budget(0, workers=3, cores=16) == 5  # 0: this worker's share
    assert thread_budget(3, workers=8, cores=4) == 1  # never below one
    assert workers_for(1, cores=2) == 2 and workers_for(2, cores=2) == 1 and workers_for(3, cores=16) == 5
    assert choose_split(cells=8, cores=2) == (2, 1)
    assert choose_split(cells=1, cores=2) == (1, 2)
    assert choose_split(cells=3, cores=16) == (3, 5)
    for cores in (1, 2, 3, 8, 16):
        for cells in (1, 2, 5, 40):
            workers, threads = choose_split(cells, cores)
            assert workers * threads <= cores or (workers, threads) == (1, 1)

    monkeypatch.setenv("MODELLAB_WORKERS", str(available_cores()))
    assert Device(threads=2).threads == 1
    assert Device(threads=0).threads == 1
    monkeypatch.setenv("MODELLAB_WORKERS", "1")
    assert Device(threads=0).threads == available_cores()
    monkeypatch.setenv("MODELLAB_WORKERS", "many")
    with pytest.raises(ValueError, match="MODELLAB_WORKERS"):
        Device(threads=1)


def test_joblib_sweep_runs_cells_in_parallel_workers_and_compacts(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    for name in ("logged_a", "logged_b"):
        write_model_config(conf, name, delay=0.2)
    log = tmp_path / "calls.jsonl"
    out = _sweep(
        tmp_path,
        "hydra/launcher=parallel",
        "device.threads=1",
        "+model=logged_a,logged_b",
        "dataset=cards_golden_v1,librivox_golden_v1",
        env={"MODELLAB_TEST_CALL_LOG": str(log)},
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    results = tmp_path / "results"
    con = connect(results)
    runs = con.sql("SELECT model, dataset, threads, status FROM runs ORDER BY model, dataset").fetchall()
    assert runs == [
        ("logged_a", "cards_golden_v1", 1, "ok"),
        ("logged_a", "librivox_golden_v1", 1, "ok"),
        ("logged_b", "cards_golden_v1", 1, "ok"),
        ("logged_b", "librivox_golden_v1", 1, "ok"),
    ]
    pids = {json.loads(line)["pid"] for line in log.read_text().splitlines()}
    if available_cores() >= 2:
        assert len(pids) == 2  # n_jobs = cores // threads = 2 worker processes on this machine
    assert len(list((results / "samples").glob("*.parquet"))) == 4  # one file per run: no conflicts
    compact(results)
    assert len(list((results / "samples").glob("*.parquet"))) == 1
    assert connect(results).sql("SELECT count(*) FROM samples").fetchall() == [(20,)]


@pytest.fixture
def fake_slurm(tmp_path: Path) -> dict[str, str]:
    """sbatch/srun stand-ins: sbatch keeps the job script it is given and refuses the submission."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(
        '#!/bin/sh\ncp "$1" "$FAKE_SBATCH_COPY"\necho "sbatch: not a cluster" >&2\nexit 1\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SBATCH_COPY": str(tmp_path / "job.sh")}


def test_slurm_job_script_and_its_payloads(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    (tmp_path / "conf").mkdir()
    out = _sweep(
        tmp_path,
        "hydra/launcher=slurm",
        "hydra.launcher.partition=cpu",
        "device.threads=2",
        "+model=dummy_asr",
        "dataset=cards_golden_v1,librivox_golden_v1,call_turns_golden_v1",
        env=fake_slurm,
    )
    assert out.returncode != 0 and "sbatch: not a cluster" in out.stderr
    script = Path(fake_slurm["FAKE_SBATCH_COPY"]).read_text()
    for line in (
        "#SBATCH --array=0-2%3",  # one array task per cell
        "#SBATCH --cpus-per-task=2",  # = device.threads
        "#SBATCH --partition=cpu",
        "#SBATCH --mem=8GB",
        "#SBATCH --time=120",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
        "export MODELLAB_WORKERS=1",
        f"{sys.executable} -u -m submitit.core._submit {tmp_path / 'multirun' / '.submitit'}",
    ):
        assert line in script, f"{line!r} not in the job script:\n{script}"

    # Each payload is one cell; run one as `submitit.core._submit` would on a node.
    payloads = sorted((tmp_path / "multirun" / ".submitit").glob("*.pkl"))
    cells = []
    for path in payloads:
        with path.open("rb") as fh:
            cells.append(pickle.load(fh).args[0])
    assert sorted(o for c in cells for o in c if o.startswith("dataset=")) == [
        "dataset=call_turns_golden_v1",
        "dataset=cards_golden_v1",
        "dataset=librivox_golden_v1",
    ]
    cards = next(p for p, c in zip(payloads, cells, strict=True) if "dataset=cards_golden_v1" in c)
    node_env = {
        **os.environ,
        "SUBMITIT_EXECUTOR": "slurm",
        "SLURM_JOB_ID": "77_0",
        "SLURM_ARRAY_JOB_ID": "77",
        "SLURM_ARRAY_TASK_ID": "0",
        "SLURM_NTASKS": "1",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_PROCID": "0",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_JOB_NODELIST": "node1",
    }
    code = "import pickle, sys; print(pickle.load(open(sys.argv[1], 'rb')).result().status)"
    ran = subprocess.run(
        [sys.executable, "-c", code, str(cards)], cwd=REPO, env=node_env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and "COMPLETED" in ran.stdout, ran.stderr[-3000:]
    runs = connect(tmp_path / "results").sql("SELECT dataset, threads, status FROM runs").fetchall()
    assert runs == [("cards_golden_v1", 2, "ok")]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None,
    reason="hydra-ray-launcher is not installed (scripts/setup.sh installs it; see README Installation notes)",
)
def test_ray_sweep_on_a_local_instance(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    out = _sweep(
        tmp_path,
        "hydra/launcher=ray_local",
        "device.threads=1",
        "+model=dummy_asr",
        "dataset=cards_golden_v1,librivox_golden_v1",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Ray Launcher is launching 2 jobs" in out.stdout + out.stderr  # Hydra's Ray launcher ran the cells
    runs = connect(tmp_path / "results").sql("SELECT dataset, threads FROM runs ORDER BY dataset").fetchall()
    assert runs == [("cards_golden_v1", 1), ("librivox_golden_v1", 1)]
