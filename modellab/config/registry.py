"""The registry: every config in ``conf/<group>/``, loaded and instantiated without loading weights."""

from __future__ import annotations

from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from modellab.config import CONF_DIR, group_options, instantiate_component, validate_group

__all__ = ["compose_config", "load_component", "iter_models", "iter_datasets"]


def compose_config(overrides: list[str]) -> DictConfig:
    """Compose the primary config with Hydra overrides (as the CLI would)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def load_component(group: str, name: str, extra_overrides: list[str] | None = None) -> Any:
    """Compose ``group=name`` in the primary config, validate it and instantiate it."""
    prefix = "+" if group == "model" else ""
    cfg = compose_config([f"{prefix}{group}={name}", *(extra_overrides or [])])
    node = validate_group(group, cfg[group])
    kwargs: dict[str, Any] = {"_convert_": "all"}
    if group == "dataset":
        kwargs["_recursive_"] = False
    return instantiate_component(node, **kwargs)


def iter_models() -> list[Any]:
    return [load_component("model", name) for name in group_options("model")]


def iter_datasets() -> list[Any]:
    return [load_component("dataset", name) for name in group_options("dataset") if not name.startswith("default_")]
