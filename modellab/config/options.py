"""Typed options: a component's YAML values checked against its dataclass (no Python defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from modellab.config.schema import ConfigError

__all__ = ["NoOptions", "plain_value", "typed_options"]


@dataclass
class NoOptions:
    pass


def typed_options(cls: type, values: Any, where: str) -> Any:
    """``values`` merged into dataclass ``cls``; missing keys or wrong types raise ConfigError naming ``where``."""
    values = values if values is not None else {}
    if isinstance(values, DictConfig):
        values = OmegaConf.to_container(values, resolve=True)
    try:
        node = OmegaConf.merge(OmegaConf.structured(cls), values)
        missing = OmegaConf.missing_keys(node)
        if missing:
            raise ConfigError(f"{where}: missing required keys {sorted(missing)}")
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{where}: {exc.msg if hasattr(exc, 'msg') else exc}") from exc


def plain_value(value: Any) -> Any:
    """A DictConfig or dataclass instance as plain Python containers; anything else unchanged."""
    if isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value
