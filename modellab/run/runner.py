"""The runner: one cell = model × task × dataset × device × preprocessing.

It loads the model once per process (reused across cells), decodes audio once (cached),
warms the model up, times the model call only, journals every finished sample (so a killed
run resumes where it stopped), scores from raw outputs, and writes Parquet atomically.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import inspect
import json
import secrets
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from modellab import __version__
from modellab.audio import dbfs, load_audio
from modellab.datasets.base import Dataset
from modellab.device import Device
from modellab.metrics.stats import Intervals, with_intervals
from modellab.models.base import Model
from modellab.preprocessing import Pipeline
from modellab.results.store import ResultsStore
from modellab.run.provenance import git_state, hardware, package_versions
from modellab.tasks.base import Metric, SampleRecord, Task

__all__ = ["Runner", "RunSummary", "loaded_models", "cell_key"]

# (model identity, device key) -> loaded adapter; lives for the process (a whole sweep).
_LOADED: dict[tuple[str, tuple], Model] = {}
# Load keys of adapters that already had their untimed warm-up call in this process.
_WARMED: set[tuple[str, tuple]] = set()


def loaded_models() -> dict[tuple[str, tuple], Model]:
    return _LOADED


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


def _source_hash(*objects: object) -> str:
    """Hash of the source files defining these objects' classes (the 'code version' of a cell)."""
    digest = hashlib.sha256(__version__.encode())
    for obj in objects:
        for klass in type(obj).__mro__:
            if klass.__module__.startswith("modellab"):
                try:
                    digest.update(Path(inspect.getfile(klass)).read_bytes())
                except (OSError, TypeError):
                    pass
    return digest.hexdigest()[:12]


def cell_key(
    model: Model,
    task: Task,
    dataset_hash: str,
    dataset_name: str,
    limit: int | None,
    device: Device,
    preprocessing: Pipeline,
) -> str:
    blob = json.dumps(
        {
            "model": model.identity(),
            "task": task.identity(),
            "dataset": [dataset_name, dataset_hash, limit],
            "device": list(device.key()),
            "preprocessing": preprocessing.identity(),
            "code": _source_hash(model, task, preprocessing),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _journal_entry(record: SampleRecord) -> dict[str, Any]:
    return {
        "sample_id": record.sample.sample_id,
        "output": record.output,
        "error": record.error,
        "compute_s": record.compute_s,
        "audio_s": record.audio_s,
        "artifact": record.artifact,
        "level_dbfs": record.level_dbfs,
    }


class Runner:
    def __init__(
        self,
        model: Model,
        task: Task,
        dataset: Dataset,
        device: Device,
        preprocessing: Pipeline,
        results: ResultsStore,
        config: dict[str, Any] | None = None,
        seed: int = 0,
        warmup: bool = True,
        force: bool = False,
        progress: bool = True,
        sweep_id: str | None = None,
        intervals: Intervals | None = None,
    ) -> None:
        self.model, self.task, self.dataset = model, task, dataset
        self.device, self.preprocessing, self.results = device, preprocessing, results
        self.config = config or {}
        self.seed, self.warmup, self.force, self.progress = seed, warmup, force, progress
        self.sweep_id = sweep_id
        self.intervals = intervals
        self._batched = False  # some samples were timed as one batched call (timing scope)

    # --- model cache ---------------------------------------------------------------------
    def _load_key(self) -> tuple[str, tuple]:
        return (self.model.identity_hash(), self.device.key())

    def _load_model(self) -> tuple[Model, float]:
        key = self._load_key()
        if key in _LOADED:
            return _LOADED[key], 0.0
        start = time.perf_counter()
        self.model.setup(self.device)
        load_s = time.perf_counter() - start
        _LOADED[key] = self.model
        return self.model, load_s

    # --- journal (resume after a crash) ----------------------------------------------------
    def _read_journal(self, path: Path) -> dict[str, dict[str, Any]]:
        done: dict[str, dict[str, Any]] = {}
        if not path.exists():
            return done
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash: that sample is simply redone
            done[entry["sample_id"]] = entry
        return done

    def _cached_run(self, key: str) -> str | None:
        folder = self.results.root / "runs"
        if self.force or not folder.exists():
            return None
        import duckdb

        glob = str(folder / "*.parquet").replace("'", "''")
        try:
            row = duckdb.sql(
                f"SELECT run_id FROM read_parquet('{glob}', union_by_name=true) "
                f"WHERE cell_key = '{key}' AND status <> 'failed' ORDER BY started_at DESC LIMIT 1"
            ).fetchall()
        except duckdb.Error:
            return None
        return row[0][0] if row else None

    # --- the run -------------------------------------------------------------------------
    def run(self) -> RunSummary:
        self.task.check_model(self.model)
        samples = self.dataset.samples()
        dataset_hash = self.dataset.content_hash()
        key = cell_key(
            self.model, self.task, dataset_hash, self.dataset.name, self.dataset.limit, self.device, self.preprocessing
        )
        cached = self._cached_run(key)
        if cached:
            self.results.journal_path(key).unlink(missing_ok=True)  # left by a kill after the write
            summary = RunSummary(cached, "cached", len(samples), 0, cached=True)
            print(f"[modellab] {self._label()}: unchanged, reusing run {cached} (force=true to recompute)")
            return summary

        self.model.check_requirements()  # after the cache lookup: a reused cell needs no model
        started = datetime.now(timezone.utc)
        run_id = f"{started:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        model, load_s = self._load_model()
        journal_path = self.results.journal_path(key)
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        done = self._read_journal(journal_path)
        artifacts = self.results.artifacts(run_id)
        proc = psutil.Process()
        rss: list[float] = []
        settled: list[float] = []  # RSS after the first and after the last file, heap trimmed

        # One untimed call per loaded model and process: later cells of a sweep reuse a warm model.
        if self.warmup and samples and len(done) < len(samples) and self._load_key() not in _WARMED:
            self._warm_up(model, samples)
            _WARMED.add(self._load_key())

        by_id: dict[str, SampleRecord] = {}
        pending: list[Any] = []
        size = model.batch_size if model.batches_inputs else 1

        def compute(journal: Any) -> None:
            for record in (
                self._run_batch(model, pending, artifacts)
                if size > 1
                else [self._run_sample(model, pending[0], artifacts)]
            ):
                by_id[record.sample.sample_id] = record
                rss.append(proc.memory_info().rss / 2**20)
                if len(rss) == 1:
                    settled.append(_settled_rss_mb(proc))
                journal.write(json.dumps(_journal_entry(record), ensure_ascii=False, default=str) + "\n")
            journal.flush()
            pending.clear()

        bar = self._progress(samples)
        with journal_path.open("a", encoding="utf-8") as journal:
            for sample in bar:
                if sample.sample_id in done:
                    entry = done[sample.sample_id]
                    by_id[sample.sample_id] = SampleRecord(
                        sample,
                        entry.get("output"),
                        entry.get("error"),
                        entry.get("compute_s", 0.0),
                        entry.get("audio_s", 0.0),
                        entry.get("artifact"),
                        entry.get("level_dbfs"),
                    )
                    continue
                pending.append(sample)
                if len(pending) >= size:
                    compute(journal)
            if pending:
                compute(journal)
        records = [by_id[sample.sample_id] for sample in samples]
        if len(rss) > 1:
            settled.append(_settled_rss_mb(proc))
        summary = self._finish(run_id, key, started, dataset_hash, records, load_s, rss, settled)
        journal_path.unlink(missing_ok=True)
        return summary

    def _progress(self, samples: list) -> Any:
        if not self.progress:
            return samples
        from tqdm import tqdm

        return tqdm(samples, desc=self._label(), unit="sample", file=sys.stderr, leave=False)

    def label(self) -> str:
        return self._label()

    def _label(self) -> str:
        return f"{self.model.name} × {self.task.name} × {self.dataset.name} × {self.preprocessing.name}"

    def _inputs(self, sample: Any, record: SampleRecord | None = None) -> tuple[Any, float]:
        audio = None
        if self.task.needs_audio:
            audio = load_audio(sample.audio_path)
            if sample.offset_s or sample.extra.get("end_s"):
                lo = int(sample.offset_s * audio.sample_rate)
                hi = int(sample.extra["end_s"] * audio.sample_rate) if sample.extra.get("end_s") else None
                audio = type(audio)(audio.samples[lo:hi], audio.sample_rate)
            audio = self.preprocessing(audio, seed=self.seed + _stable_int(sample.sample_id))
            if record is not None:
                record.level_dbfs = dbfs(audio.samples)
        inputs = self.task.inputs(sample, audio)
        return inputs, (audio.duration_s if audio is not None else 0.0)

    def _warm_up(self, model: Model, samples: list) -> None:
        if model.batches_inputs:  # warm the batched path with one full batch
            try:
                batch = samples[: model.batch_size]
                if self.task.predict_batch(model, [self._inputs(s)[0] for s in batch], batch) is not None:
                    return
            except Exception:  # noqa: BLE001 - warm up one sample at a time instead
                pass
        for sample in samples[:3]:
            try:
                inputs, _ = self._inputs(sample)
                self.task.predict(model, inputs, sample)
                return
            except Exception:  # noqa: BLE001 - a bad first file must not stop the run
                continue

    def _run_sample(self, model: Model, sample: Any, artifacts: Path) -> SampleRecord:
        record = SampleRecord(sample)
        try:
            inputs, record.audio_s = self._inputs(sample, record)
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return self._predict_one(model, record, inputs, artifacts)

    def _predict_one(self, model: Model, record: SampleRecord, inputs: Any, artifacts: Path) -> SampleRecord:
        try:
            start = time.perf_counter()
            output = self.task.predict(model, inputs, record.sample)
            record.compute_s = time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return self._keep(record, output, artifacts)

    def _run_batch(self, model: Model, samples: list[Any], artifacts: Path) -> list[SampleRecord]:
        """One timed ``task.predict_batch`` call over the samples whose audio loaded. The call's
        time is shared among them in proportion to their audio duration (so Σ compute and RTFx
        stay exact); if the call fails, the batch is run one sample at a time, so one bad input
        fails only itself."""
        records = [SampleRecord(sample) for sample in samples]
        ready: list[tuple[SampleRecord, Any]] = []
        for record in records:
            try:
                inputs, record.audio_s = self._inputs(record.sample, record)
                ready.append((record, inputs))
            except Exception as exc:  # noqa: BLE001
                self._failed(record, exc)
        if not ready:
            return records
        try:
            start = time.perf_counter()
            outputs = self.task.predict_batch(model, [i for _, i in ready], [r.sample for r, _ in ready])
            elapsed = time.perf_counter() - start
            if outputs is not None and len(outputs) != len(ready):
                raise RuntimeError(f"predict_batch returned {len(outputs)} outputs for {len(ready)} inputs")
        except Exception:  # noqa: BLE001 - find the bad input one call at a time
            outputs = None
        if outputs is None:
            for record, inputs in ready:
                self._predict_one(model, record, inputs, artifacts)
            return records
        self._batched = True
        total = sum(r.audio_s for r, _ in ready)
        for (record, _), output in zip(ready, outputs):
            record.compute_s = elapsed * (record.audio_s / total if total else 1 / len(ready))
            self._keep(record, output, artifacts)
        return records

    def _keep(self, record: SampleRecord, output: Any, artifacts: Path) -> SampleRecord:
        try:
            record.output = self.task.to_record(output, record.sample)
            record.artifact = self.task.save_artifact(output, record.sample, artifacts)
            if not self.task.needs_audio:
                record.audio_s = float(record.output.get("duration_s", 0.0) or 0.0)
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return record

    def _failed(self, record: SampleRecord, exc: Exception) -> SampleRecord:
        msg = str(exc) or type(exc).__name__
        where = record.sample.audio_path or record.sample.sample_id
        record.error = msg if (where and str(where) in msg) else f"{where}: {type(exc).__name__}: {msg}"
        if self.config.get("debug"):
            traceback.print_exc()
        return record

    def _finish(
        self,
        run_id: str,
        key: str,
        started: datetime,
        dataset_hash: str,
        records: list[SampleRecord],
        load_s: float,
        rss: list[float],
        settled: list[float] | None = None,
    ) -> RunSummary:
        scores = self.task.score(records, self.dataset.kind)
        ok = [r for r in records if r.error is None]
        n_failed = len(records) - len(ok)
        audio_s = sum(r.audio_s for r in ok)
        compute_s = sum(r.compute_s for r in ok)
        speed = [
            Metric("load_s", load_s, False),
            Metric("audio_s", audio_s, None),
            Metric("compute_s", compute_s, False),
            Metric("rtf", compute_s / audio_s if audio_s else None, False),
            Metric("rtfx", audio_s / compute_s if compute_s else None, True),
            Metric("peak_rss_mb", max(rss) if rss else psutil.Process().memory_info().rss / 2**20, False),
            # RSS after the last file ÷ after the first, both read with freed heap returned to the
            # OS first: otherwise where glibc happens to be swings it by ±10% (benchmarks/bench_memory.py).
            Metric("rss_growth", settled[-1] / settled[0] if settled and len(settled) > 1 else None, False),
            Metric("n_failed", float(n_failed), False),
        ]
        metrics = [m for m in scores.metrics + speed if m.value is not None]
        status = "failed" if not ok else ("partial" if n_failed else "ok")
        sha, dirty = git_state()
        run_row = {
            "run_id": run_id,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
            "model": self.model.name,
            "model_family": self.model.info.family,
            "model_status": self.model.info.status.value,
            "task": self.task.name,
            "dataset": self.dataset.name,
            "dataset_kind": self.dataset.kind,
            "dataset_hash": dataset_hash,
            "device": self.device.name,
            "compute_type": self.device.compute_type,
            "threads": self.device.threads,
            "batch_size": self.model.batch_size,
            "preprocessing": self.preprocessing.name,
            "status": status,
            "n_samples": len(records),
            "n_failed": n_failed,
            "cell_key": key,
            "sweep_id": self.sweep_id,
            "timing_scope": "model_call_batched" if self._batched else "model_call",
            "warmup": self.warmup,
            "config": self.config,
            "config_hash": hashlib.sha256(json.dumps(self.config, sort_keys=True, default=str).encode()).hexdigest()[
                :16
            ],
            "model_params": self.model.parameters,
            "preprocessing_steps": self.preprocessing.identity(),
            "git_sha": sha,
            "git_dirty": dirty,
            "versions": package_versions(),
            "hardware": hardware(),
            "modellab_version": __version__,
            **self.task.metadata(),
        }
        sample_rows = []
        for rec, extra in zip(records, scores.samples):
            sample_rows.append(
                {
                    "run_id": run_id,
                    "sample_id": rec.sample.sample_id,
                    "audio_path": rec.sample.audio_path,
                    "duration_s": rec.audio_s or rec.sample.duration_s,
                    "compute_s": rec.compute_s,
                    "error": rec.error,
                    "output": rec.output,
                    "artifact": rec.artifact,
                    "level_dbfs": rec.level_dbfs,  # input level (silence gates), kept for rescoring
                    **{"reference": rec.sample.text, "hypothesis": None, **extra},
                }
            )
        metric_rows = with_intervals(
            [
                {"run_id": run_id, "name": m.name, "value": float(m.value), "higher_is_better": m.higher_is_better}
                for m in metrics
            ],
            sample_rows,
            run_row,
            self.intervals,
            self.seed,
        )
        (self.results.artifacts(run_id) / "config.json").write_text(json.dumps(self.config, indent=2, default=str))
        self.results.write_run(run_row, sample_rows, metric_rows)
        values = {m.name: m.value for m in metrics}
        rtfx = values.get("rtfx")
        line = (
            f"[modellab] {run_id} {self._label()}: {status}, {len(records) - n_failed}/{len(records)} samples"
            + (f", {scores.summary}" if scores.summary else "")
            + (f", RTFx {rtfx:.1f}" if rtfx else "")
            + f", load {load_s:.2f}s"
        )
        print(line)
        return RunSummary(run_id, status, len(records), n_failed, values, False, scores.summary, records)


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


def _stable_int(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
