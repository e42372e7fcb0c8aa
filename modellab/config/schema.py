"""Typed schemas for every config group.

Each group's YAML is merged into its dataclass below before anything is instantiated, so an
unknown key, a typo or a wrong type fails at compose time with the file's group named.
Adapter-specific options are typed by the adapter's own ``Options`` dataclass (see
:class:`modellab.models.base.Model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

__all__ = [
    "Capability",
    "ConfigError",
    "check_mapping",
    "DatasetConfig",
    "DatasetRole",
    "DeviceConfig",
    "HardwareConfig",
    "ModelConfig",
    "ModelInfo",
    "PreprocessingConfig",
    "Status",
    "TaskConfig",
    "WeightsConfig",
    "validate_group",
    "GROUP_SCHEMAS",
]


class ConfigError(ValueError):
    """A config is invalid; the message names the group and the problem."""


def check_mapping(raw: Any, where: str, keys: set[str] | frozenset[str], required: tuple[str, ...]) -> dict[str, Any]:
    """``raw`` as a mapping with only ``keys`` and every ``required`` key set, or a ConfigError naming ``where``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = set(raw) - set(keys)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)} (valid: {sorted(keys)})")
    missing = [k for k in required if not raw.get(k)]
    if missing:
        raise ConfigError(f"{where} misses {missing}")
    return raw


class Status(str, Enum):
    production = "production"
    candidate = "candidate"
    experimental = "experimental"


class Capability(str, Enum):
    asr = "asr"
    alignment = "alignment"
    streaming_asr = "streaming_asr"
    translation = "translation"
    vad = "vad"
    diarization = "diarization"
    tts = "tts"
    v2v = "v2v"
    speaker_asr = "speaker_asr"


class DatasetRole(str, Enum):
    """What a dataset is for: ``quality`` sets gate promotion (conf/gates/promotion.yaml), ``benchmark``
    sets are speed/scale material, ``smoke`` sets are health checks only."""

    quality = "quality"
    benchmark = "benchmark"
    smoke = "smoke"


@dataclass
class WeightsConfig:
    """Where the weights come from.

    ``source`` is one of ``package`` (a Python package that ships the files; ``package`` names
    it and ``path`` is relative to it), ``package_parts`` (files split across several packages,
    joined once into ``cache_dir`` and checked against ``sha256``), ``local`` (``path`` is a
    directory or file), ``hub`` (``repo_id`` on the Hugging Face hub), ``builtin`` (the library
    bundles its own weights) or ``none`` (nothing to load).
    """

    source: str = "none"
    package: str | None = None
    packages: list[str] = field(default_factory=list)
    path: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    sha256: str | None = None
    cache_dir: str | None = None


@dataclass
class ModelInfo:
    """A model's registry metadata. ``capabilities`` is the one declaration of the tasks a config can run:
    the task checks it (and that the adapter derives from the task's model class) before anything loads,
    and the registry listings read it without importing the adapter's library."""

    family: str = "???"
    capabilities: list[Capability] = field(default_factory=list)
    status: Status = Status.experimental
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    license: str = "unknown"
    parameters: str | None = None
    extra: str | None = None
    requires: list[str] = field(default_factory=list)
    description: str = ""
    languages: list[str] = field(default_factory=list)  # spoken languages it transcribes ([en]: English-only); [] = any


@dataclass
class ModelConfig:
    _target_: str = "???"
    name: str = "???"
    info: ModelInfo = field(default_factory=ModelInfo)
    weights: WeightsConfig = field(default_factory=WeightsConfig)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskConfig:
    _target_: str = "???"
    name: str = "???"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetConfig:
    _target_: str = "???"
    name: str = "???"
    tasks: list[str] = field(default_factory=list)
    kind: str = "golden"  # golden (has references) | smoke (health gates only) | nonspeech (hallucination)
    role: DatasetRole = MISSING  # required: quality (gates promotion) | benchmark (speed/scale) | smoke (health)
    license: str = "unknown"
    description: str = ""
    root: str = "???"
    manifest: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    builder: dict[str, Any] | None = None
    language: str = "en"
    limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # typed by the dataset class's own Options


@dataclass
class DeviceConfig:
    _target_: str = "modellab.device.Device"
    name: str = "cpu"
    kind: str = "cpu"
    index: int = 0
    compute_type: str = "int8"
    threads: int = 2


@dataclass
class PreprocessingConfig:
    _target_: str = "???"
    name: str = "???"
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HardwareConfig:
    """What the machine costs (conf/hardware/, ``hardware=<name>``): each run's ``cost_per_audio_hour``
    is ``price_per_hour`` × its share of the machine (CPU: threads ÷ cores, at most 1) × compute seconds
    ÷ audio seconds. A description for pricing, not a device: ``device`` says where the model runs."""

    name: str = "???"
    price_per_hour: float = MISSING  # USD per hour of the whole machine
    cores: int = MISSING  # vCPUs
    memory_gb: float = MISSING
    accelerator: str | None = None  # e.g. "NVIDIA A10G"; None on a CPU-only machine
    price_source: str = MISSING  # where the price comes from (provider, region, date), or the assumption


GROUP_SCHEMAS: dict[str, type] = {
    "model": ModelConfig,
    "task": TaskConfig,
    "dataset": DatasetConfig,
    "device": DeviceConfig,
    "preprocessing": PreprocessingConfig,
    "hardware": HardwareConfig,
}


def validate_group(group: str, node: DictConfig | dict[str, Any]) -> DictConfig:
    """Merge ``node`` into the group's schema; raise :class:`ConfigError` naming the problem."""
    schema = OmegaConf.structured(GROUP_SCHEMAS[group])
    # resolve interpolations in the context of the whole config
    plain: Any = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node
    try:
        merged = OmegaConf.merge(schema, plain)
    except OmegaConfBaseException as exc:
        name = plain.get("name", "?") if hasattr(plain, "get") else "?"
        raise ConfigError(f"conf/{group}/{name}.yaml: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
    assert isinstance(merged, DictConfig)  # merged into a structured (dataclass) schema: always a DictConfig
    missing = OmegaConf.missing_keys(merged)
    if missing:
        raise ConfigError(f"conf/{group}/{merged.get('name', '?')}.yaml: missing required keys {sorted(missing)}")
    return merged
