"""``parallel_files`` (faster-whisper): several files decoded at the same time on as many
CTranslate2 replicas (``num_workers``), one Python thread each; exact, recorded on the run, and
timed as one call per handed-over batch (docs/performance.md)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks.bench_throughput import DEFAULT, SETTINGS, chosen_settings
from modellab.app import build_cell
from modellab.config.registry import compose_config
from modellab.models.faster_whisper import FasterWhisperModel
from modellab.results.views import connect
from modellab.types import Audio


def _model(*overrides: str) -> FasterWhisperModel:
    model = build_cell(compose_config(["+model=faster_whisper", "task=asr", *overrides])).model
    assert isinstance(model, FasterWhisperModel)
    return model


def test_parallel_files_hands_the_runner_eight_groups_per_replica() -> None:
    plain = _model()
    assert plain.options.parallel_files == 1 and plain.inputs_per_call == 1 and not plain.batches_inputs
    two = _model("+model.options.parallel_files=2")
    assert two.inputs_per_call == 16 and two.batches_inputs  # 1 file a group × 2 replicas × 8 groups each
    both = _model("+model.options.parallel_files=2", "+model.options.files_per_batch=4")
    assert both.inputs_per_call == 64  # 4 × 2 × 8
    assert _model("+model.options.files_per_batch=8").inputs_per_call == 8  # unchanged without parallel_files


def test_the_device_threads_are_shared_by_the_replicas() -> None:
    model = _model("+model.options.parallel_files=2")
    model.device = SimpleNamespace(threads=4)  # type: ignore[assignment]
    assert model.replica_threads() == 2
    model.device = SimpleNamespace(threads=2)  # type: ignore[assignment]
    assert model.replica_threads() == 1
    model = _model("+model.options.parallel_files=3")
    model.device = SimpleNamespace(threads=2)  # type: ignore[assignment]
    assert model.replica_threads() == 1  # never below one thread
    model = _model()
    model.device = SimpleNamespace(threads=2)  # type: ignore[assignment]
    assert model.replica_threads() == 2  # the default: every thread on the one replica


def test_groups_run_at_the_same_time_and_come_back_in_order() -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = _model("+model.options.parallel_files=2", "+model.options.files_per_batch=3")
    both_running = threading.Barrier(2, timeout=10)  # broken unless two groups are decoded at once
    seen: list[tuple[int, ...]] = []

    def decode(group: list[Audio]) -> list[Any]:
        ids = tuple(int(a.samples[0]) for a in group)
        seen.append(ids)
        if len(seen) <= 2:
            both_running.wait()
        return [f"file {i}" for i in ids]

    model._decode_group = decode  # type: ignore[method-assign,assignment]
    model.pool = ThreadPoolExecutor(2)
    try:
        files = [Audio(samples=[float(i)], sample_rate=16000) for i in range(7)]  # type: ignore[arg-type]
        assert model.predict_batch(files) == [f"file {i}" for i in range(7)]
    finally:
        model.pool.shutdown()
    assert sorted(seen) == [(0, 1, 2), (3, 4, 5), (6,)]  # files_per_batch files a group


def test_the_benchmark_runs_the_reference_and_the_chosen_settings() -> None:
    parallel = "default now + parallel_files=2 (2 replicas × 1 thread)"
    assert chosen_settings(["replicas"]) == [DEFAULT, parallel]
    assert chosen_settings([]) == list(SETTINGS)
    with pytest.raises(SystemExit, match="no setting matches"):
        chosen_settings(["no such setting"])
    assert SETTINGS[parallel] == (["+model.options.parallel_files=2"], "exact: same transcripts")
    # the reference is the default as it was when the short-file target was set: glibc's allocator settings
    assert SETTINGS[DEFAULT] == (["+model.options.heap_reuse_mb=0"], "reference")


def _texts(results: Path, run_id: str) -> list[tuple[str, str]]:
    sql = "SELECT sample_id, hypothesis FROM samples WHERE run_id = ? ORDER BY sample_id"
    return connect(results).execute(sql, [run_id]).fetchall()


@pytest.mark.slow
def test_parallel_files_gives_the_same_transcripts_and_is_recorded(run_cell: Any, results_dir: Path) -> None:
    cell = ["+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1"]
    one = run_cell(*cell)
    parallel = run_cell(*cell, "+model.options.parallel_files=2")
    assert parallel.status == one.status == "ok"
    texts = _texts(results_dir, one.run_id)
    assert len(texts) == 5 and all(t for _, t in texts)
    assert _texts(results_dir, parallel.run_id) == texts  # exact: word for word, every file
    sql = (
        "SELECT run_id, inputs_per_call, timing_scope, model_params->>'$.parallel_files', "
        "model_params->>'$.files_per_batch' FROM runs"
    )
    runs = {row[0]: row[1:] for row in connect(results_dir).execute(sql).fetchall()}
    assert runs[one.run_id] == (1, "model_call", "1", "1")
    assert runs[parallel.run_id] == (16, "model_call_batched", "2", "1")


@pytest.mark.slow
def test_parallel_files_loads_one_replica_per_file_with_the_threads_shared() -> None:
    model = _model("+model.options.parallel_files=2")
    model.setup(build_cell(compose_config(["+model=faster_whisper", "task=asr"])).device)
    try:
        assert model.model.model.num_workers == 2
        assert model.pool is not None and model.pool._max_workers == 2
    finally:
        model.unload()
    assert model.pool is None


def test_without_timestamps_is_passed_to_transcribe_only_when_asked() -> None:
    plain, asked = _model(), _model("+model.options.without_timestamps=true")
    plain.pipeline = asked.pipeline = None  # not loaded: faster-whisper's sequential transcribe
    assert "without_timestamps" not in plain.transcribe_kwargs()  # faster-whisper's own default (False)
    assert asked.transcribe_kwargs()["without_timestamps"] is True
    chunked = _model("model.options.batch_size=4")  # the chunk pipeline keeps its own default (True)
    chunked.pipeline = object()
    assert "without_timestamps" not in chunked.transcribe_kwargs()


def test_warm_up_decodes_one_group_per_replica_not_a_whole_call() -> None:
    # parallel_files=2: a timed call hands over 1 file × 2 replicas × PARALLEL_QUEUE (8) = 16 files;
    # the untimed warm-up needs each replica to decode once: 2 files (1 × 2), 4 with files_per_batch=2.
    model = _model("+model.options.parallel_files=2", "device.threads=2")
    assert model.inputs_per_call == 16 and model.warm_up_inputs == 2
    model = _model("+model.options.parallel_files=2", "+model.options.files_per_batch=2", "device.threads=2")
    assert model.inputs_per_call == 32 and model.warm_up_inputs == 4
