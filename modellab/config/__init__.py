"""Config schemas, resolvers and composition helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from modellab.config.schema import ConfigError, validate_group

__all__ = [
    "CONF_DIR",
    "REPO_ROOT",
    "ConfigError",
    "group_options",
    "instantiate_component",
    "register_resolvers",
    "validate_group",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = REPO_ROOT / "conf"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("repo_root"):
        OmegaConf.register_new_resolver("repo_root", lambda: str(REPO_ROOT))
    if not OmegaConf.has_resolver("workers_for"):  # conf/hydra/launcher: cores // device.threads
        from modellab.device import workers_for

        OmegaConf.register_new_resolver("workers_for", workers_for)


def instantiate_component(node: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that lets a component's own ConfigError through unwrapped."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        while cause is not None and not isinstance(cause, ConfigError):
            cause = cause.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        raise


def group_options(group: str) -> list[str]:
    """Names of the configs in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


register_resolvers()
