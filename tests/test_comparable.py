"""``modellab.analysis.comparable``: which runs may be compared, and when one sample decides a pooled WER.

Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json

from modellab.analysis.comparable import (
    check_comparable,
    error_concentration,
    identity_fields,
    without_gate_failures,
)
from modellab.analysis.rundata import RunData


def _run(run_id: str = "r", **row: object) -> RunData:
    config = {
        "model": {"name": "m", "weights": {"source": "package", "package": "p"}, "options": {"beam_size": 5}},
        "task": {"name": "asr", "options": {"primary_normalizer": "whisper_en"}},
    }
    base = {
        "model": "m",
        "dataset": "d",
        "dataset_hash": "abc",
        "normalizer": "whisper_en",
        "normalizer_version": "v1",
        "device": "cpu",
        "compute_type": "int8",
        "threads": 2,
        "batch_size": 1,
        "hardware": {"cpu": "AMD EPYC"},
        "preprocessing_steps": "[]",
        "config": json.dumps(config),
    }
    base.update(row)
    samples = [
        # errors: 1 of 10 reference words
        {"sample_id": "a", "substitutions": 1, "deletions": 0, "insertions": 0, "ref_words": 10, "gates_passed": True},
        # errors: 0 of 5
        {"sample_id": "b", "substitutions": 0, "deletions": 0, "insertions": 0, "ref_words": 5, "gates_passed": True},
        # a loop: 2 S + 1 D + 6 I = 9 errors on 3 reference words, and it fails the repetition gate
        {"sample_id": "c", "substitutions": 2, "deletions": 1, "insertions": 6, "ref_words": 3, "gates_passed": False},
    ]
    return RunData(run_id, base, {"wer": 10 / 18}, {"wer": False}, samples)


def test_same_data_and_setup_is_comparable_and_key_order_does_not_matter() -> None:
    a = _run()
    b = _run(config=json.dumps(json.loads(a.row["config"]), sort_keys=True), threads=2.0)
    result = check_comparable(a, b, same_setup=True)
    assert result.comparable and result.speed_comparable and result.quality == [] and result.speed == []


def test_other_audio_or_normaliser_is_never_comparable() -> None:
    for field, value in (("dataset_hash", "xyz"), ("normalizer", "basic"), ("normalizer_version", "v2")):
        result = check_comparable(_run(), _run(**{field: value}))
        assert not result.comparable and [d.field for d in result.quality] == [field]


def test_setup_differences_matter_only_against_a_pin_of_the_same_setup() -> None:
    config = json.loads(_run().row["config"])
    config["model"]["options"]["beam_size"] = 1
    other = _run(config=json.dumps(config))
    assert check_comparable(_run(), other).comparable  # two setups compared on one dataset: fine
    pinned = check_comparable(_run(), other, same_setup=True)
    assert [d.field for d in pinned.quality] == ["model_options"]
    assert pinned.quality[0].describe() == 'model_options: {"beam_size": 5} -> {"beam_size": 1}'


def test_speed_needs_the_same_hardware_and_threads_but_quality_does_not() -> None:
    result = check_comparable(_run(), _run(threads=1, hardware={"cpu": "Intel Xeon"}))
    assert result.comparable and not result.speed_comparable
    assert sorted(d.field for d in result.speed) == ["hardware", "threads"]


def test_a_field_missing_on_one_side_counts_as_different() -> None:
    result = check_comparable(_run(normalizer_version=None), _run())
    assert [(d.field, d.baseline, d.candidate) for d in result.quality] == [("normalizer_version", None, "v1")]


def test_pinned_fields_and_config_fields_agree() -> None:
    fields = identity_fields(_run())
    assert fields["model_weights"] == '{"package": "p", "source": "package"}'
    assert fields["task_options"] == '{"primary_normalizer": "whisper_en"}'
    assert fields["hardware"] == "cpu-amd-epyc"
    # A pin stores the canonical strings themselves; reading them back gives the same values.
    pin_like = _run(**{k: v for k, v in fields.items() if k != "hardware"}, config=None)
    assert identity_fields(pin_like) == fields


def test_one_looping_sample_carrying_most_errors_is_flagged() -> None:
    c = error_concentration(_run(), threshold=0.3)
    # errors 1 + 0 + 9 = 10; the loop carries 9 of them: 0.9 > 0.3
    assert c is not None and c.sample_id == "c" and c.errors == 9 and c.total_errors == 10
    assert abs(c.share - 0.9) < 1e-12 and c.flagged
    assert not error_concentration(_run(), threshold=0.95).flagged
    assert "90%" in c.describe() and "(c: 9 errors; 3 samples)" in c.describe()


def test_errors_spread_evenly_are_not_flagged() -> None:
    run = _run()
    for s in run.samples:
        s.update(substitutions=1, deletions=0, insertions=0)
    c = error_concentration(run, threshold=0.34)
    assert c is not None and abs(c.share - 1 / 3) < 1e-12 and not c.flagged


def test_wer_without_gate_failed_samples_is_pooled_over_the_rest() -> None:
    kept = without_gate_failures(_run())
    # a and b pass: (1 + 0) errors / (10 + 5) words = 1/15
    assert [s["sample_id"] for s in kept.samples] == ["a", "b"]
    assert abs(kept.metrics["wer"] - 1 / 15) < 1e-12
    # A mean of per-sample WERs would give (0.1 + 0) / 2 = 0.05: pooled is not a mean.
    only_b = without_gate_failures(_run(), keep={"b"})
    assert only_b.metrics["wer"] == 0.0


def test_the_gate_can_judge_wer_without_gate_failed_samples() -> None:
    """A pin where sample c was fine, a run where c loops (fails its gate): with all samples WER rises
    from 1/18 to 10/18 (a regression); without c (dropped from both runs) both are 1/15 (a pass)."""
    from dataclasses import replace

    from modellab.analysis import baselines
    from modellab.analysis.gates import load_gate

    pinned, looping = _run("pin"), _run("new")
    pinned.samples[2].update(substitutions=0, deletions=0, insertions=0, gates_passed=True)
    pinned.metrics["wer"] = 1 / 18
    for run in (pinned, looping):
        for s in run.samples:
            s["wer"] = (s["substitutions"] + s["deletions"] + s["insertions"]) / s["ref_words"]
    gate = load_gate("default")
    judged = baselines._judged_without_gate_failures(pinned, looping, gate, resamples=200, seed=0)
    wer = judged.metric("wer")
    assert judged.comparability.comparable and [r.metric for r in judged.gate_results] == ["wer"]
    assert abs(wer.baseline - 1 / 15) < 1e-12 and abs(wer.candidate - 1 / 15) < 1e-12 and not judged.gate_failed
    full = baselines.compare_runs(pinned, looping, 200, 0, replace(gate, rules=[gate.rule("wer")]), same_setup=True)
    assert full.gate_failed  # 10/18 - 1/18 = 0.5 > 0.005


def test_vector_isa_is_the_widest_extension_the_cpu_reports() -> None:
    from modellab.run.provenance import vector_isa

    assert vector_isa({"fpu", "sse2", "avx", "avx2", "fma"}) == "avx2"
    assert vector_isa({"sse2", "avx", "avx2", "avx512f", "avx512bw"}) == "avx512"
    assert vector_isa({"sse2", "avx"}) == "avx"
    assert vector_isa({"fpu", "sse2"}) == "sse"


def test_hardware_key_separates_avx2_from_avx512_but_keeps_old_runs_key() -> None:
    from modellab.analysis.rundata import hardware_key

    def key(hw: dict[str, str], device: str = "cpu") -> str:
        return hardware_key({"device": device, "hardware": json.dumps(hw)})

    assert key({"cpu": "AMD EPYC", "isa": "avx2"}) == "cpu-amd-epyc-avx2"
    assert key({"cpu": "AMD EPYC", "isa": "avx512"}) == "cpu-amd-epyc-avx512"
    assert key({"cpu": "AMD EPYC"}) == "cpu-amd-epyc"  # recorded before the ISA was
    assert key({"cpu": "AMD EPYC", "isa": "avx2", "gpu": "NVIDIA H200"}, "cuda") == "cuda-nvidia-h200"
