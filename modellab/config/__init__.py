"""Config schemas, resolvers and composition helpers."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from modellab.config.schema import ConfigError, validate_group

__all__ = ["CONF_DIR", "REPO_ROOT", "ConfigError", "register_resolvers", "validate_group", "group_options"]

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = REPO_ROOT / "conf"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("repo_root"):
        OmegaConf.register_new_resolver("repo_root", lambda: str(REPO_ROOT))


def group_options(group: str) -> list[str]:
    """Names of the configs in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


register_resolvers()
