"""Recording a finished cell: scores, speed and memory metrics, the run row with its provenance,
sample rows, metric rows with bootstrap intervals, and the lookup of a cell already stored.

The runner measures; this module turns what it measured into the rows of ``results/`` (written
atomically by :class:`modellab.results.store.ResultsStore`, the run row last).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psutil

from modellab import __version__
from modellab.datasets.base import Dataset
from modellab.device import Device
from modellab.metrics.cost import COST_METRIC, PRICE_COLUMN, cost_per_audio_hour
from modellab.metrics.stats import Intervals, with_intervals
from modellab.models.base import Model
from modellab.preprocessing import Pipeline
from modellab.results.store import ResultsStore
from modellab.run.provenance import git_state, hardware, hardware_profile, package_versions
from modellab.tasks.base import Metric, SampleRecord, Task

__all__ = [
    "FinishedRun",
    "MemoryProbe",
    "Recorder",
    "RunSummary",
    "config_hash",
    "settings_columns",
    "speed_metrics",
    "stored_run",
    "summary_line",
]


@dataclass
class RunSummary:
    run_id: str
    status: str
    n_samples: int
    n_failed: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    cached: bool = False
    summary: str = ""
    records: list[SampleRecord] = field(default_factory=list)


class MemoryProbe:
    """Process memory over a run: RSS after every computed sample (its peak is stored), and RSS
    after the first and after the last computed sample with freed heap returned to the OS first
    (their ratio is ``rss_growth``; unsettled, where glibc happens to be swings it by ±10%, see
    benchmarks/bench_memory.py)."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.rss_mb: list[float] = []
        self.settled_mb: list[float] = []

    def sample_done(self) -> None:
        self.rss_mb.append(self._process.memory_info().rss / 2**20)
        if len(self.rss_mb) == 1:
            self.settled_mb.append(_settled_rss_mb(self._process))

    def run_done(self) -> None:
        if len(self.rss_mb) > 1:
            self.settled_mb.append(_settled_rss_mb(self._process))

    def metrics(self) -> list[Metric]:
        peak = max(self.rss_mb) if self.rss_mb else self._process.memory_info().rss / 2**20
        settled = self.settled_mb
        growth = settled[-1] / settled[0] if len(settled) > 1 else None
        return [Metric("peak_rss_mb", peak, False), Metric("rss_growth", growth, False)]


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


def _settled_rss_mb(proc: psutil.Process) -> float:
    """RSS in MB after glibc's ``malloc_trim`` (live memory, not free heap). No ``gc.collect()``:
    on a sweep's heap it costs ~40 ms, and refcounting already freed what a sample left behind."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return proc.memory_info().rss / 2**20


@dataclass
class FinishedRun:
    """What the runner measured for one computed cell."""

    run_id: str
    cell_key: str
    started: datetime
    dataset_hash: str
    records: list[SampleRecord]
    load_s: float
    batched: bool  # some samples were timed as one batched call (the run's timing scope)
    memory: MemoryProbe
    cold_start_s: float | None = None  # process start to the process's first model output, if it was in this run
    inputs_per_call: int = 1  # inputs handed to the model per timed call
    model_metrics: list[tuple[str, float, bool]] = field(default_factory=list)  # Model.take_run_metrics

    @property
    def ok(self) -> list[SampleRecord]:
        return [r for r in self.records if r.error is None]


def speed_metrics(run: FinishedRun) -> list[Metric]:
    """Load time, audio and compute seconds, RTF/RTFx, memory and the failure count of a run."""
    ok = run.ok
    audio_s = sum(r.audio_s for r in ok)
    compute_s = sum(r.compute_s for r in ok)
    peak_rss, rss_growth = run.memory.metrics()
    return [
        Metric("load_s", run.load_s, False),
        Metric("audio_s", audio_s, None),
        Metric("compute_s", compute_s, False),
        Metric("rtf", compute_s / audio_s if audio_s else None, False),
        Metric("rtfx", audio_s / compute_s if compute_s else None, True),
        peak_rss,
        rss_growth,
        Metric("n_failed", float(len(run.records) - len(ok)), False),
        *(Metric(name, value, higher) for name, value, higher in run.model_metrics),
    ]


def _cost_metric(price: float | None, metrics: list[Metric]) -> list[Metric]:
    """``cost_per_audio_hour`` from the run's compute and audio seconds (modellab/metrics/cost.py)."""
    values = {m.name: m.value for m in metrics}
    cost = cost_per_audio_hour(price, values.get("compute_s") or 0.0, values.get("audio_s") or 0.0)
    return [] if cost is None else [Metric(COST_METRIC, cost, False)]


def config_hash(config: dict[str, Any]) -> str:
    """The stored ``config_hash``: a digest of the whole config, key order ignored."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def settings_columns(config: dict[str, Any], model: Model) -> dict[str, Any]:
    """The run's settings as stored, computed once: the whole composed config (the model section
    included), its hash (to group identical configs), and the model's options alone
    (``model_params``, typed by the adapter's ``Options``, for SQL such as ``model_params->>'$.beam_size'``)."""
    return {"config": config, "config_hash": config_hash(config), "model_params": model.parameters}


def stored_run(results: ResultsStore, key: str) -> str | None:
    """The newest stored run of cell ``key`` that did not fail, if any."""
    folder = results.root / "runs"
    if not folder.exists():
        return None
    import duckdb

    glob = str(folder / "*.parquet").replace("'", "''")
    try:
        row = duckdb.execute(
            f"SELECT run_id FROM read_parquet('{glob}', union_by_name=true) "
            f"WHERE cell_key = '{key}' AND status <> 'failed' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    except duckdb.Error:
        return None
    return row[0][0] if row else None


def _sample_row(run_id: str, record: SampleRecord, scored: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "sample_id": record.sample.sample_id,
        "audio_path": record.sample.audio_path,
        "duration_s": record.audio_s or record.sample.duration_s,
        "compute_s": record.compute_s,
        "error": record.error,
        "output": record.output,
        "artifact": record.artifact,
        "level_dbfs": record.level_dbfs,  # input level (silence gates), kept for rescoring
        **{"reference": record.sample.text, "hypothesis": None, **scored},
    }


def summary_line(summary: RunSummary, label: str, load_s: float) -> str:
    rtfx = summary.metrics.get("rtfx")
    return (
        f"[modellab] {summary.run_id} {label}: {summary.status}, "
        f"{summary.n_samples - summary.n_failed}/{summary.n_samples} samples"
        + (f", {summary.summary}" if summary.summary else "")
        + (f", RTFx {rtfx:.1f}" if rtfx else "")
        + f", load {load_s:.2f}s"
    )


@dataclass
class Recorder:
    """Writes one cell's finished run: what ran (model, task, dataset, device, preprocessing and
    settings), how it went, provenance, sample rows and metric rows with intervals."""

    model: Model
    task: Task
    dataset: Dataset
    device: Device
    preprocessing: Pipeline
    results: ResultsStore
    config: dict[str, Any]
    seed: int = 0
    warmup: bool = True
    sweep_id: str | None = None
    intervals: Intervals | None = None

    def record(self, run: FinishedRun) -> RunSummary:
        """Score the run, write its rows (and ``artifacts/<run id>/config.json``), and sum it up."""
        scores = self.task.score(run.records, self.dataset.kind)
        metrics = [m for m in scores.metrics + speed_metrics(run) if m.value is not None]
        ok = run.ok
        n_failed = len(run.records) - len(ok)
        status = "failed" if not ok else ("partial" if n_failed else "ok")
        row = self.run_row(run, status, n_failed)
        metrics += _cost_metric(row.get(PRICE_COLUMN), metrics)  # the hardware profile's price (conf/hardware/)
        sample_rows = [_sample_row(run.run_id, r, s) for r, s in zip(run.records, scores.samples, strict=True)]
        metric_rows = [
            {"run_id": run.run_id, "name": m.name, "value": float(value), "higher_is_better": m.higher_is_better}
            for m in metrics
            if (value := m.value) is not None
        ]
        metric_rows = with_intervals(metric_rows, sample_rows, row, self.intervals, self.seed)
        config_file = self.results.artifacts(run.run_id) / "config.json"
        config_file.write_text(json.dumps(self.config, indent=2, default=str))
        self.results.write_run(row, sample_rows, metric_rows)
        values = {m.name: m.value for m in metrics}
        return RunSummary(run.run_id, status, len(run.records), n_failed, values, False, scores.summary, run.records)

    def run_row(self, run: FinishedRun, status: str, n_failed: int) -> dict[str, Any]:
        """The ``runs`` row; its columns and their order are the stored schema."""
        sha, dirty = git_state()
        return {
            **self._cell_columns(run),
            "status": status,
            "n_samples": len(run.records),
            "n_failed": n_failed,
            "cell_key": run.cell_key,
            "sweep_id": self.sweep_id,
            "timing_scope": "model_call_batched" if run.batched else "model_call",
            "inputs_per_call": run.inputs_per_call,
            "cold_start_s": run.cold_start_s,
            "warmup": self.warmup,
            **settings_columns(self.config, self.model),
            "preprocessing_steps": self.preprocessing.identity(),
            "git_sha": sha,
            "git_dirty": dirty,
            "versions": package_versions(),
            "hardware": hardware(),
            "modellab_version": __version__,
            **self.task.metadata(),
            **hardware_profile(self.config),
        }

    def _cell_columns(self, run: FinishedRun) -> dict[str, Any]:
        return {
            "run_id": run.run_id,
            "started_at": run.started.isoformat(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
            "model": self.model.name,
            "model_family": self.model.info.family,
            "model_status": self.model.info.status.value,
            "task": self.task.name,
            "dataset": self.dataset.name,
            "dataset_kind": self.dataset.kind,
            "dataset_hash": run.dataset_hash,
            "device": self.device.name,
            "compute_type": self.device.compute_type,
            "threads": self.device.threads,
            "batch_size": self.model.batch_size,
            "preprocessing": self.preprocessing.name,
        }
