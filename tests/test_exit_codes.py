"""Exit codes a script can rely on (docs/exit-codes.md): 0 ok, 1 unexpected, 2 usage/config, 3 a cell
could not run, 4 a failed run (or, with ``fail_on=sample``, any failed sample); and the device check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modellab.run.sweep import exit_code_for, run_failure
from tests.conftest import run_cli

GOOD_WAV = "/usr/share/pocketsphinx/test/data/cards/001.wav"


@pytest.fixture
def broken_wav(tmp_path: Path) -> Path:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00not audio at all" * 50)
    return path


def _cell(results_dir: Path, *overrides: str, sweep: bool = False):
    flags = ["-m"] if sweep else []
    return run_cli(
        "modellab", *flags, "+model=dummy_asr", "task=asr", f"results_dir={results_dir}", "progress=false", *overrides
    )


# --- the rule --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "n_failed", "fail_on", "fails"),
    [
        ("ok", 0, "run", False),
        ("partial", 1, "run", False),  # some samples failed, the run did not
        ("failed", 5, "run", True),
        ("ok", 0, "sample", False),
        ("partial", 1, "sample", True),
        ("failed", 5, "sample", True),
        ("failed", 5, "never", False),
        ("partial", 1, "never", False),
    ],
)
def test_which_runs_fail_the_command(status: str, n_failed: int, fail_on: str, fails: bool) -> None:
    assert (run_failure(status, n_failed, 5, fail_on) is not None) is fails


def test_unknown_fail_on_is_refused() -> None:
    with pytest.raises(ValueError, match="fail_on='always'.*run, sample, never"):
        run_failure("ok", 0, 5, "always")


def test_a_sweep_exits_with_the_most_actionable_code() -> None:
    assert exit_code_for([]) == 0
    assert exit_code_for([4, 4]) == 4
    assert exit_code_for([4, 3]) == 3  # a cell that could not run beats a failed run
    assert exit_code_for([4, 2, 3]) == 2  # a usage error beats both


# --- one cell --------------------------------------------------------------------------------------
def test_a_failed_run_exits_4_and_fail_on_never_exits_0(results_dir, broken_wav) -> None:
    out = _cell(results_dir, f"audio={broken_wav}")
    assert out.returncode == 4, out.stderr[-2000:]
    assert "the run failed: 1/1 samples failed" in out.stderr
    ignored = _cell(results_dir, f"audio={broken_wav}", "fail_on=never")
    assert ignored.returncode == 0, ignored.stderr[-2000:]


def test_a_good_run_exits_0(results_dir) -> None:
    out = _cell(results_dir, f"audio={GOOD_WAV}")
    assert out.returncode == 0, out.stderr[-2000:]


def test_fail_on_sample_fails_a_partial_run(results_dir, tmp_path, broken_wav) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy(GOOD_WAV, root / "good.wav")
    shutil.copy(broken_wav, root / "bad.wav")
    rows = [
        {"sample_id": "good", "audio": "good.wav", "text": "ten of clubs"},
        {"sample_id": "bad", "audio": "bad.wav"},
    ]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = ["dataset=cards_golden_v1", f"dataset.root={root}"]
    partial = _cell(results_dir, *dataset)
    assert partial.returncode == 0, partial.stderr[-2000:]  # fail_on=run: one good sample keeps the run
    assert "partial, 1/2 samples" in partial.stdout
    strict = _cell(results_dir, *dataset, "fail_on=sample")
    assert strict.returncode == 4 and "1/2 samples failed (fail_on=sample)" in strict.stderr
    assert "reusing run" in strict.stdout  # the reused (cached) partial run is judged from the store


def test_usage_errors_exit_2(results_dir) -> None:
    typo = _cell(results_dir, "fail_on=always")
    assert typo.returncode == 2 and "fail_on='always'" in typo.stderr
    # Hydra's own error for a config group option naming no file exits 1; the lab maps it to 2.
    unknown = _cell(results_dir, "task=asrr")
    assert unknown.returncode == 2 and "Could not find 'task/asrr'" in unknown.stderr
    bad_value = _cell(results_dir, "model.options.delay_s=slow")
    assert bad_value.returncode == 2 and "config error" in bad_value.stderr


def test_a_cell_that_cannot_run_exits_3(results_dir) -> None:
    out = run_cli(
        "modellab",
        "+model=faster_whisper",
        "task=asr",
        "dataset=cards_golden_v1",
        "model.weights.source=local",
        "model.weights.path=/nonexistent/weights",
        f"results_dir={results_dir}",
    )
    assert out.returncode == 3, out.stderr[-2000:]


# --- sweeps ----------------------------------------------------------------------------------------
def test_a_sweep_with_a_failed_run_exits_4_and_lists_it(results_dir, tmp_path, broken_wav) -> None:
    sweep_dir = tmp_path / "sweep"
    out = _cell(results_dir, f"audio={GOOD_WAV},{broken_wav}", f"hydra.sweep.dir={sweep_dir}", sweep=True)
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]
    assert "1 cell(s) of the sweep failed" in out.stdout and f"audio={broken_wav}" in out.stdout
    lines = [json.loads(x) for x in (sweep_dir / "failed_cells.jsonl").read_text().splitlines()]
    assert [x["code"] for x in lines] == [4]


def test_a_sweep_of_good_cells_exits_0(results_dir, tmp_path) -> None:
    out = _cell(results_dir, f"audio={GOOD_WAV}", f"hydra.sweep.dir={tmp_path / 'sweep'}", sweep=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


# --- datasets build ----------------------------------------------------------------------------------
def test_datasets_build_exit_codes(tmp_path) -> None:
    unknown = run_cli("modellab", "datasets", "build", "no_such_set")
    assert unknown.returncode == 2 and "unknown dataset no_such_set" in unknown.stderr
    missing = run_cli(
        "modellab", "datasets", "build", "librispeech_test_clean", env={"MODELLAB_DATA_DIR": str(tmp_path)}
    )
    assert missing.returncode == 3 and "librispeech_test_clean: not built" in missing.stderr


# --- device ----------------------------------------------------------------------------------------
def test_device_check_names_what_each_framework_found(monkeypatch) -> None:
    import modellab.device as device

    monkeypatch.setattr(device, "_installed", lambda module: False)
    with pytest.raises(device.DeviceNotAvailableError) as info:
        device.check_device("cuda")
    message = str(info.value)
    assert message.startswith("device=cuda (cuda:0) is not available on this machine")
    assert "torch: not installed" in message and "CTranslate2: not installed" in message
    assert message.endswith("use device=cpu") and "\n" not in message
    device.check_device("cpu")  # never refused


def test_device_check_passes_when_one_framework_sees_the_device(monkeypatch) -> None:
    import modellab.device as device

    monkeypatch.setattr(device, "_torch_view", lambda kind: ("torch.cuda.is_available()=False", 0))
    monkeypatch.setattr(device, "_ctranslate2_view", lambda: ("ctranslate2.get_cuda_device_count()=2", 2))
    device.check_device("cuda", 1)  # CTranslate2 has a second GPU
    with pytest.raises(device.DeviceNotAvailableError, match=r"cuda:2.*get_cuda_device_count\(\)=2"):
        device.check_device("cuda", 2)


def test_device_cuda_without_a_gpu_exits_2_before_loading(results_dir) -> None:
    from modellab.device import device_views

    if any(count for _, count in device_views("cuda")):
        pytest.skip("this machine has a CUDA device")
    # Weights that do not exist: if anything tried to load them we would get exit 3 and a weights error.
    out = run_cli(
        "modellab",
        "+model=faster_whisper",
        "task=asr",
        "dataset=cards_golden_v1",
        "device=cuda",
        "model.weights.source=local",
        "model.weights.path=/nonexistent/weights",
        f"results_dir={results_dir}",
    )
    assert out.returncode == 2, out.stderr[-2000:]
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("modellab: device=cuda (cuda:0) is not available")
    assert "torch.cuda.is_available()=False" in line and "ctranslate2.get_cuda_device_count()=0" in line
    assert "use device=cpu" in line and "Traceback" not in out.stderr
