"""Hardware profiles (conf/hardware/) and ``cost_per_audio_hour``; expected values worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from modellab.config import ConfigError, group_options, validate_group
from modellab.config.registry import compose_config
from modellab.metrics.cost import cost_decomposition, cost_per_audio_hour
from modellab.metrics.stats import metric_intervals
from modellab.results.views import connect
from modellab.run.provenance import hardware_profile, machine_share


def test_cost_is_price_times_compute_over_audio() -> None:
    # $0.0864/h, 30 s of compute for 120 s of audio: 0.0864 × 30 / 120 = $0.0216 per audio hour
    assert cost_per_audio_hour(0.0864, 30.0, 120.0) == pytest.approx(0.0216)
    assert cost_per_audio_hour(None, 30.0, 120.0) is None
    assert cost_per_audio_hour(0.0864, 30.0, 0.0) is None


def test_machine_share_is_threads_over_cores_on_cpu() -> None:
    assert machine_share({"device": {"kind": "cpu", "threads": 1}}, 2) == 0.5
    assert machine_share({"device": {"kind": "cpu", "threads": 4}}, 2) == 1.0  # at most the machine
    assert machine_share({"device": {"kind": "cuda", "threads": 1}}, 4) == 1.0  # a GPU run takes the machine


def test_profile_columns_on_the_run_row() -> None:
    config = {
        "device": {"kind": "cpu", "threads": 1},
        "hardware": {"name": "box", "price_per_hour": 0.2, "cores": 4, "memory_gb": 8, "accelerator": None},
    }
    assert hardware_profile(config) == {
        "hardware_profile": "box",
        "price_per_hour": 0.2,
        "price_charged_per_hour": pytest.approx(0.05),  # 1 of 4 cores
        "hardware_cores": 4,
        "hardware_memory_gb": 8,
        "hardware_accelerator": None,
    }
    assert hardware_profile({}) == {}


def test_cost_interval_reproduces_the_pooled_value() -> None:
    rows = [
        {"sample_id": "a", "duration_s": 4.0, "compute_s": 1.0, "error": None},
        {"sample_id": "b", "duration_s": 4.0, "compute_s": 3.0, "error": None},
        {"sample_id": "c", "duration_s": 4.0, "compute_s": 50.0, "error": "boom"},  # failed: not counted
    ]
    run = {"price_charged_per_hour": 0.1}
    decomposition = cost_decomposition("cost_per_audio_hour", rows, run)
    assert decomposition is not None
    assert decomposition.value() == pytest.approx(0.05)  # 0.1 × (1 + 3) / (4 + 4)
    ci = metric_intervals({"cost_per_audio_hour": 0.05}, rows, run, resamples=400)["cost_per_audio_hour"]
    # a resample is at best all "a" (0.1 × 1/4) and at worst all "b" (0.1 × 3/4)
    assert 0.025 - 1e-12 <= ci.low < ci.value < ci.high <= 0.075 + 1e-12
    assert cost_decomposition("cost_per_audio_hour", rows, {}) is None  # no price, no interval


@pytest.mark.parametrize("name", group_options("hardware"))
def test_every_hardware_profile_validates(name: str) -> None:
    node = OmegaConf.load(Path("conf/hardware") / f"{name}.yaml")
    profile = validate_group("hardware", node)
    assert profile.name == name and profile.price_per_hour > 0 and profile.cores > 0 and profile.price_source


def test_a_profile_without_price_is_refused_naming_its_file() -> None:
    with pytest.raises(ConfigError, match=r"conf/hardware/bare\.yaml.*price_per_hour"):
        validate_group("hardware", {"name": "bare", "cores": 2, "memory_gb": 4, "price_source": "x"})


def test_default_profile_and_override_compose() -> None:
    assert compose_config([]).hardware.name == "aws_m6a_large"
    assert compose_config(["hardware=aws_g5_xlarge"]).hardware.accelerator.startswith("NVIDIA")


def test_every_run_records_its_cost(run_cell, results_dir) -> None:
    summary = run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "device.threads=1")
    assert summary.status == "ok"
    con = connect(results_dir)
    profile, price, charged = con.sql(
        "SELECT hardware_profile, price_per_hour, price_charged_per_hour FROM runs"
    ).fetchall()[0]
    assert (profile, price) == ("aws_m6a_large", 0.0864)
    assert charged == pytest.approx(0.0432)  # 1 thread of the profile's 2 cores
    m = dict(con.sql("SELECT name, value FROM metrics").fetchall())
    assert m["cost_per_audio_hour"] == pytest.approx(0.0432 * m["compute_s"] / m["audio_s"])
    direction = con.sql("SELECT higher_is_better FROM metrics WHERE name = 'cost_per_audio_hour'").fetchall()[0][0]
    assert direction is False


def test_cpu_track_page_shows_cost_and_accuracy(run_cell, results_dir, tmp_path: Path) -> None:
    from modellab.site.build import optional_page_writer
    from modellab.site.load import load_results
    from modellab.site.pages.cpu_track import cpu_track_sections, write_cpu_track_page

    run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "device.threads=1")
    run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "device.threads=2")
    con = load_results(results_dir).con
    sections, left_out = cpu_track_sections(con)
    assert left_out == 0 and [s.dataset for s in sections] == ["librivox_golden_v1"]
    section = sections[0]
    assert section.metric == "wer" and section.threads == [1, 2] and len(section.rows) == 2
    page = write_cpu_track_page(optional_page_writer(tmp_path / "site"), con)
    assert page is not None
    html = page.read_text()
    assert "aws_m6a_large" in html and "$ / audio h" in html and "<svg" in html
