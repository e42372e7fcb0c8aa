"""Every config of every group composes, validates against its schema and instantiates cheaply."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from modellab.config import ConfigError, group_options, validate_group
from modellab.config.registry import compose_config, load_component

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
