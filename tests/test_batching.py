"""Batching across files: with ``batch_size`` > 1 and an adapter that batches, the runner hands
the model that many samples per timed call, shares the call's time by audio duration, and a
failing batch is retried one sample at a time so only the bad input fails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from modellab.app import build_cell, run_config
from modellab.config.registry import compose_config
from modellab.models.dummy import ConstantASR
from modellab.results.views import connect
from modellab.types import Audio, Transcript

CALLS: dict[str, list[int]] = {}  # model name -> size of every predict_batch call


@dataclass
class BatchingOptions:
    text: str
    delay_s: float
    batch_size: int
    fail_longer_than_s: float  # inputs longer than this make predict (and any batch with them) fail


class BatchingASR(ConstantASR):
    """The dummy ASR model with a real ``predict_batch`` that logs its batch sizes."""

    Options = BatchingOptions

    def predict(self, inputs: Audio) -> Transcript:
        if inputs.duration_s > self.options.fail_longer_than_s:
            raise RuntimeError(f"input of {inputs.duration_s:.2f} s is too long")
        return super().predict(inputs)

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        CALLS.setdefault(self.name, []).append(len(batch))
        return [self.predict(audio) for audio in batch]


def _run(results: Path, name: str, batch_size: int, fail_longer_than_s: float = 1e9):
    cfg = compose_config(
        [
            "+model=dummy_asr",
            "task=asr",
            "dataset=librivox_golden_v1",
            f"model._target_={__name__}.BatchingASR",
            f"model.name={name}",
            f"+model.options.batch_size={batch_size}",
            f"+model.options.fail_longer_than_s={fail_longer_than_s}",
            f"results_dir={results}",
            "progress=false",
        ]
    )
    return run_config(cfg)


def _samples(results: Path, run_id: str) -> list[tuple]:
    return (
        connect(results)
        .execute(
            "SELECT sample_id, hypothesis, error, compute_s, duration_s FROM samples WHERE run_id = ? ORDER BY sample_id",
            [run_id],
        )
        .fetchall()
    )


def test_samples_go_to_the_model_in_batches_with_the_time_shared_by_duration(tmp_path: Path) -> None:
    results = tmp_path / "results"
    batched = _run(results, "batching_3", 3)
    assert CALLS["batching_3"] == [3, 3, 2]  # the warm-up batch, then 5 samples as 3 + 2
    one_by_one = _run(results, "batching_1", 1)
    assert "batching_1" not in CALLS  # batch_size 1: predict per sample, as before
    rows, plain = _samples(results, batched.run_id), _samples(results, one_by_one.run_id)
    assert [r[:3] for r in rows] == [r[:3] for r in plain]  # the same outputs either way
    assert all(r[3] > 0 for r in rows)
    con = connect(results)
    scope = dict(con.execute("SELECT model, timing_scope FROM runs").fetchall())
    assert scope == {"batching_3": "model_call_batched", "batching_1": "model_call"}
    # within one call every sample gets the same compute time per second of audio
    order = [r[0] for r in rows]
    stored = {r[0]: r for r in rows}
    cell = build_cell(compose_config(["+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1"]))
    in_order = [s.sample_id for s in cell.dataset.samples()]
    assert sorted(in_order) == order
    first = [stored[i][3] / stored[i][4] for i in in_order[:3]]  # the first batch, in dataset order
    assert max(first) == pytest.approx(min(first), rel=1e-9)


def test_a_failing_batch_is_retried_one_by_one_so_only_the_bad_input_fails(tmp_path: Path) -> None:
    results = tmp_path / "results"
    cell = build_cell(compose_config(["+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1"]))
    durations = sorted(s.duration_s for s in cell.dataset.samples())
    limit = (durations[-1] + durations[-2]) / 2  # only the longest input fails
    summary = _run(results, "batching_fail", 5, limit)
    rows = _samples(results, summary.run_id)
    failed = [r for r in rows if r[2]]
    assert len(failed) == 1 and "too long" in failed[0][2]
    assert all(r[1] for r in rows if not r[2])  # every other sample has its transcript
    assert summary.status == "partial" and summary.n_failed == 1


def test_only_adapters_that_batch_get_batches() -> None:
    def model(*overrides: str):
        return build_cell(compose_config(["task=asr", *overrides])).model

    assert model("+model=hf_whisper", "model.options.batch_size=4").batches_inputs
    assert not model("+model=hf_whisper").batches_inputs  # batch_size 1
    # faster-whisper's batch_size batches chunks within one file (BatchedInferencePipeline)
    assert not model("+model=faster_whisper", "model.options.batch_size=4").batches_inputs
