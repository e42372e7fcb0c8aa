"""Every config of every group composes, validates against its schema and instantiates cheaply."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from modellab.config import CONF_DIR, REPO_ROOT, ConfigError, group_options, validate_group
from modellab.config.registry import compose_config, load_component
from modellab.config.yamlfile import yaml_problem

GROUPS = ["model", "task", "dataset", "device", "preprocessing"]
CASES = [(g, n) for g in GROUPS for n in group_options(g)]


@pytest.mark.parametrize(("group", "name"), CASES, ids=[f"{g}/{n}" for g, n in CASES])
def test_every_config_composes_and_instantiates(group: str, name: str) -> None:
    obj = load_component(group, name)
    assert obj is not None
    if group == "model":
        assert obj.loaded is False  # constructors stay cheap: nothing loaded
        assert obj.info.capabilities, f"{name} declares no capabilities"
        assert obj.info.license and obj.info.license != "unknown"
    if group in ("model", "task", "dataset", "preprocessing", "device"):
        assert obj.name


def test_every_group_is_mirrored_by_a_package() -> None:
    """Each config group's objects come from the package of the same role (conf/task -> modellab.tasks)."""
    import importlib

    for group in GROUPS:
        pkg = "modellab." + {"model": "models", "task": "tasks", "dataset": "datasets"}.get(group, group)
        importlib.import_module(pkg)
        misplaced = [
            f"conf/{group}/{name}.yaml -> {type(obj).__module__}"
            for name in group_options(group)
            if not type(obj := load_component(group, name)).__module__.startswith(pkg)
        ]
        assert not misplaced, f"configs whose objects live outside {pkg}: {misplaced}"


def test_unknown_key_fails_at_compose_time_with_the_file_named() -> None:
    cfg = compose_config(["+model=faster_whisper", "+model.colour=blue"])
    with pytest.raises(ConfigError, match=r"conf/model/faster_whisper.yaml.*colour"):
        validate_group("model", cfg.model)


def test_wrong_type_fails_at_compose_time() -> None:
    cfg = compose_config(["+model=faster_whisper", "device.threads=lots"])
    with pytest.raises(ConfigError, match="threads"):
        validate_group("device", cfg.device)


def test_adapter_option_typo_is_refused_before_loading() -> None:
    with pytest.raises(ConfigError, match="beam_sise"):
        load_component("model", "faster_whisper", ["+model.options.beam_sise=3"])


def test_adapter_option_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="beam_size"):
        load_component("model", "faster_whisper", ["model.options.beam_size=wide"])


def test_default_dataset_follows_the_task() -> None:
    cfg = compose_config(["+model=faster_whisper", "task=asr"])
    assert cfg.dataset.name == "librivox_golden_v1"
    assert "asr" in OmegaConf.to_container(cfg.dataset, resolve=True)["tasks"]


# --- a conf file that is not valid YAML: one line naming the file, line and column ------------------

BAD_YAML = "name: x\ndescription: a: b\n"  # the second ':' of line 2 is its 15th character
BAD_YAML_PROBLEM = "not valid YAML: mapping values are not allowed here (line 2, column 15)"


@pytest.fixture
def bad_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of conf/ with ``dataset/aa_bad_v1.yaml`` (sorted first) not valid YAML, used by the registry."""
    import modellab.config
    import modellab.config.registry

    conf = tmp_path.resolve() / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "dataset" / "aa_bad_v1.yaml").write_text(BAD_YAML, encoding="utf-8")
    monkeypatch.setattr(modellab.config, "CONF_DIR", conf)
    monkeypatch.setattr(modellab.config.registry, "CONF_DIR", conf)
    return conf


def test_a_yaml_error_in_the_repository_names_the_file_relative_to_it() -> None:
    stream = io.StringIO(BAD_YAML)
    stream.name = str(REPO_ROOT / "conf" / "dataset" / "x_v1.yaml")  # what PyYAML names the file by; not written
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.safe_load(stream)
    assert yaml_problem(raised.value) == f"conf/dataset/x_v1.yaml: {BAD_YAML_PROBLEM}"


def test_the_dataset_listing_names_a_file_that_is_not_valid_yaml(
    bad_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from modellab.datasets.__main__ import main

    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"python -m modellab.datasets: {bad_conf}/dataset/aa_bad_v1.yaml: {BAD_YAML_PROBLEM}"


def test_a_run_names_a_dataset_file_that_is_not_valid_yaml(tmp_path: Path) -> None:
    """``python -m modellab ... dataset=aa_bad_v1``, the dataset found in an extra ``--config-dir``: exit 2
    (a config error) and Hydra's one-line report of a composition error, with its HYDRA_FULL_ERROR hint."""
    extra = tmp_path.resolve() / "extra"
    (extra / "dataset").mkdir(parents=True)
    (extra / "dataset" / "aa_bad_v1.yaml").write_text(BAD_YAML, encoding="utf-8")
    cmd = [sys.executable, "-m", "modellab", "--config-dir", str(extra), "+model=dummy_asr", "task=asr"]
    cmd += ["dataset=aa_bad_v1", f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={tmp_path / 'out'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == f"{extra}/dataset/aa_bad_v1.yaml: {BAD_YAML_PROBLEM}"
    assert "Traceback" not in proc.stderr


def test_the_lab_command_names_a_lab_config_that_is_not_valid_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from modellab.run.lab import main

    lab = tmp_path.resolve() / "lab.yaml"
    lab.write_text(BAD_YAML, encoding="utf-8")
    assert main(["--config", str(lab), "--no-site"]) == 2  # before building or running anything
    assert capsys.readouterr().err.strip() == f"python -m modellab lab: {lab}: {BAD_YAML_PROBLEM}"
