"""The runner: one cell = model × task × dataset × device × preprocessing.

It reuses a loaded model across cells (:mod:`modellab.models.cache`), skips a cell already stored,
warms the model up, times the model call only, journals every finished sample so a killed run
resumes where it stopped (:mod:`modellab.run.journal`), and hands what it measured to
:mod:`modellab.run.recorder`, which scores it and writes the rows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modellab.audio import dbfs, load_audio
from modellab.datasets.base import Dataset
from modellab.device import Device
from modellab.metrics.stats import Intervals
from modellab.models.base import Model
from modellab.models.cache import is_warm, load_key, load_once, loaded_models, mark_warm
from modellab.preprocessing import Pipeline
from modellab.results.store import ResultsStore
from modellab.run.journal import Journal
from modellab.run.recorder import FinishedRun, MemoryProbe, Recorder, RunSummary, stored_run, summary_line
from modellab.tasks.base import SampleRecord, Task
from modellab.types import Audio, Sample

__all__ = ["Inference", "Runner", "RunSummary", "cell_key", "loaded_models"]


def _source_hash(*objects: object) -> str:
    """The code a cell ran (:mod:`modellab.run.codehash`): the modules it imports, and the numeric libraries."""
    from modellab.run.codehash import cell_modules, code_fingerprint

    return code_fingerprint(cell_modules(*objects))[:12]


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


class Runner:
    """Runs one cell: the loop over its samples, resumable and skipped when already stored.

    The model and task come checked: ``modellab.app.build_cell`` validated every config group and
    called ``task.check_model`` before building the runner (a caller that builds a Runner itself
    checks first, as it would for any misuse of its inputs).
    """

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
        self.recorder = Recorder(
            model, task, dataset, device, preprocessing, results, self.config, seed, warmup, sweep_id, intervals
        )

    def label(self) -> str:
        return f"{self.model.name} × {self.task.name} × {self.dataset.name} × {self.preprocessing.name}"

    def run(self) -> RunSummary:
        samples = self.dataset.samples()
        dataset_hash = self.dataset.content_hash()
        key = cell_key(
            self.model, self.task, dataset_hash, self.dataset.name, self.dataset.limit, self.device, self.preprocessing
        )
        journal = Journal(self.results.journal_path(key))
        stored = None if self.force else stored_run(self.results, key)
        if stored:
            journal.discard()  # left by a kill after the write
            print(f"[modellab] {self.label()}: unchanged, reusing run {stored} (force=true to recompute)")
            return RunSummary(stored, "cached", len(samples), 0, cached=True)
        return self._compute(samples, key, dataset_hash, journal)

    def _compute(self, samples: list[Sample], key: str, dataset_hash: str, journal: Journal) -> RunSummary:
        self.model.check_requirements()  # after the stored-run lookup: a reused cell needs no model
        started = datetime.now(timezone.utc)
        run_id = f"{started:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        loaded = load_key(self.model, self.device)
        model, load_s = load_once(self.model, self.device, loaded)
        done = journal.finished()
        calls = Inference(
            model,
            self.task,
            self.preprocessing,
            self.results.artifacts(run_id),
            self.seed,
            bool(self.config.get("debug")),
        )
        # One untimed call per loaded model and process: later cells of a sweep reuse a warm model.
        if self.warmup and samples and len(done) < len(samples) and not is_warm(loaded):
            calls.warm_up(samples)
            mark_warm(loaded)
            calls.note_output()
        records, memory = self._loop(samples, done, calls, journal)
        finished = FinishedRun(
            run_id,
            key,
            started,
            dataset_hash,
            records,
            load_s,
            calls.batched,
            memory,
            calls.cold_start_s,
            calls.batch_size,
            model.take_run_metrics(sum(1 for r in records if r.error is None and r.sample.sample_id not in done)),
        )
        summary = self.recorder.record(finished)
        journal.discard()
        print(summary_line(summary, self.label(), load_s))
        return summary

    def _loop(
        self, samples: list[Sample], done: dict[str, dict[str, Any]], calls: Inference, journal: Journal
    ) -> tuple[list[SampleRecord], MemoryProbe]:
        """Every sample's record in dataset order: journalled ones restored, the rest computed."""
        memory = MemoryProbe()
        by_id = {s.sample_id: Journal.restore(s, done[s.sample_id]) for s in samples if s.sample_id in done}
        with journal:
            for batch in _pending_batches(self._progress(samples), done, calls.batch_size):
                computed = calls.run(batch)
                calls.note_output()
                for record in computed:
                    by_id[record.sample.sample_id] = record
                    memory.sample_done()
                journal.write(computed)
        memory.run_done()
        return [by_id[s.sample_id] for s in samples], memory

    def _progress(self, samples: list[Sample]) -> Iterable[Sample]:
        if not self.progress:
            return samples
        from tqdm import tqdm

        return tqdm(samples, desc=self.label(), unit="sample", file=sys.stderr, leave=False)


def _pending_batches(samples: Iterable[Sample], done: dict[str, Any], size: int) -> Iterator[list[Sample]]:
    """The samples not in ``done``, ``size`` at a time (the last batch may be shorter)."""
    batch: list[Sample] = []
    for sample in samples:
        if sample.sample_id in done:
            continue
        batch.append(sample)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Inference:
    """The model calls of one cell: each sample's inputs (audio cut to its segment and
    preprocessed), the untimed warm-up, and timed single or batched calls. An exception fails only
    its own sample, with a message that names the file."""

    def __init__(
        self,
        model: Model,
        task: Task,
        preprocessing: Pipeline,
        artifacts: Path,
        seed: int = 0,
        debug: bool = False,
    ) -> None:
        self.model, self.task, self.preprocessing = model, task, preprocessing
        self.artifacts, self.seed, self.debug = artifacts, seed, debug
        self.batch_size = model.inputs_per_call if model.batches_inputs else 1
        self.batched = False  # some samples were timed as one batched call (the run's timing scope)
        self.cold_start_s: float | None = None  # set where this cell made the process's first model output

    def note_output(self) -> None:
        """A model output exists now: the first one of the process sets ``cold_start_s``."""
        if not _FIRST_OUTPUT:
            _FIRST_OUTPUT.append(process_age_s())
            self.cold_start_s = _FIRST_OUTPUT[0]

    def run(self, samples: list[Sample]) -> list[SampleRecord]:
        if self.batch_size > 1:
            return self._run_batch(samples)
        return [self._run_sample(sample) for sample in samples]

    def inputs(self, sample: Sample, record: SampleRecord | None = None) -> tuple[Any, float]:
        """The model input of ``sample`` and its audio seconds; ``record`` gets the input level."""
        audio = None
        if self.task.needs_audio:
            if sample.audio_path is None:
                raise ValueError(
                    f"sample {sample.sample_id}: task {self.task.name} needs audio, the sample has no audio_path"
                )
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

    def warm_up(self, samples: list[Sample]) -> None:
        if self.model.batches_inputs:  # warm the batched path: one call of warm_up_inputs cut inputs
            try:
                batch = samples[: max(1, min(self.batch_size, self.model.warm_up_inputs))]
                inputs = [warm_up_slice(self.inputs(s)[0]) for s in batch]
                if self.task.predict_batch(self.model, inputs, batch) is not None:
                    return
            except Exception:  # noqa: BLE001 - warm up one sample at a time instead
                pass
        for sample in samples[:3]:
            try:
                inputs, _ = self.inputs(sample)
            except Exception:  # noqa: BLE001 - a bad first file must not stop the run
                continue
            cut = warm_up_slice(inputs)
            for warm_inputs in (cut, inputs) if cut is not inputs else (inputs,):
                try:
                    self.task.predict(self.model, warm_inputs, sample)
                    return
                except Exception:  # noqa: BLE001 - e.g. an aligner given a cut of its transcript's audio
                    continue

    def _run_sample(self, sample: Sample) -> SampleRecord:
        record = SampleRecord(sample)
        try:
            inputs, record.audio_s = self.inputs(sample, record)
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return self._predict_one(record, inputs)

    def _predict_one(self, record: SampleRecord, inputs: Any) -> SampleRecord:
        try:
            start = time.perf_counter()
            output = self.task.predict(self.model, inputs, record.sample)
            record.compute_s = time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return self._keep(record, output)

    def _run_batch(self, samples: list[Sample]) -> list[SampleRecord]:
        """One timed ``task.predict_batch`` call over the samples whose audio loaded. The call's
        time is shared among them in proportion to their audio duration (so Σ compute and RTFx
        stay exact); if the call fails, the batch is run one sample at a time, so one bad input
        fails only itself."""
        records = [SampleRecord(sample) for sample in samples]
        ready = self._ready(records)
        if not ready:
            return records
        outputs, elapsed = self._predict_batch(ready)
        if outputs is None:
            for record, inputs in ready:
                self._predict_one(record, inputs)
            return records
        self.batched = True
        total = sum(r.audio_s for r, _ in ready)
        for (record, _), output in zip(ready, outputs, strict=True):
            record.compute_s = elapsed * (record.audio_s / total if total else 1 / len(ready))
            self._keep(record, output)
        return records

    def _ready(self, records: list[SampleRecord]) -> list[tuple[SampleRecord, Any]]:
        """(record, inputs) of the records whose inputs loaded; the others are marked failed."""
        ready: list[tuple[SampleRecord, Any]] = []
        for record in records:
            try:
                inputs, record.audio_s = self.inputs(record.sample, record)
                ready.append((record, inputs))
            except Exception as exc:  # noqa: BLE001
                self._failed(record, exc)
        return ready

    def _predict_batch(self, ready: list[tuple[SampleRecord, Any]]) -> tuple[list[Any] | None, float]:
        """The batch's outputs (None when the call failed or declined) and its seconds."""
        try:
            start = time.perf_counter()
            outputs = self.task.predict_batch(self.model, [i for _, i in ready], [r.sample for r, _ in ready])
            elapsed = time.perf_counter() - start
            if outputs is not None and len(outputs) != len(ready):
                raise RuntimeError(f"predict_batch returned {len(outputs)} outputs for {len(ready)} inputs")
        except Exception:  # noqa: BLE001 - find the bad input one call at a time
            return None, 0.0
        return outputs, elapsed

    def _keep(self, record: SampleRecord, output: Any) -> SampleRecord:
        try:
            record.output = self.task.to_record(output, record.sample)
            record.artifact = self.task.save_artifact(output, record.sample, self.artifacts)
            if not self.task.needs_audio:
                record.audio_s = float(record.output.get("duration_s", 0.0) or 0.0)
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run
            return self._failed(record, exc)
        return record

    def _failed(self, record: SampleRecord, exc: Exception) -> SampleRecord:
        msg = str(exc) or type(exc).__name__
        where = record.sample.audio_path or record.sample.sample_id
        record.error = msg if (where and str(where) in msg) else f"{where}: {type(exc).__name__}: {msg}"
        if self.debug:
            traceback.print_exc()
        return record


_FIRST_OUTPUT: list[float] = []  # this process's age at its first model output


def process_age_s() -> float:
    """Seconds since this process started (the kernel's record: interpreter start-up included).

    On Linux both ends are the boot clock: CLOCK_BOOTTIME now minus the start time in
    /proc/self/stat, to the kernel's tick (1/CLK_TCK, 10 ms). Not ``time.time() -
    psutil.Process().create_time()``: that adds the boot time from /proc/stat in whole seconds, an
    error of up to a second against the wall clock (+0.23 s on this VM)."""
    import os

    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rpartition(")")[2].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, AttributeError, ValueError, IndexError):  # not Linux: the portable, coarser clock
        import psutil

        return time.time() - float(psutil.Process().create_time())


def _stable_int(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


WARM_UP_MAX_S = 10.0  # a warm-up needs the code paths and buffers, not a whole long file


def warm_up_slice(inputs: Any) -> Any:
    """The first ``WARM_UP_MAX_S`` seconds of an audio input (other inputs as they are): warming up
    on a half-hour file would cost as much as the timed call itself."""
    if isinstance(inputs, Audio) and inputs.duration_s > WARM_UP_MAX_S:
        return Audio(inputs.samples[: int(WARM_UP_MAX_S * inputs.sample_rate)], inputs.sample_rate)
    return inputs
