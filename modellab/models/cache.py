"""Loaded models, kept for the process: each (model, device, compute type) loads once.

A sweep runs many cells in one process; cells that share a model and device reuse its loaded
adapter (and its warm-up), so only the first cell pays for ``load()``. The key is the model's
identity hash (class, name, weights, options) and the device key (kind, index, compute type,
threads).
"""

from __future__ import annotations

import time

from modellab.device import Device
from modellab.models.base import Model

__all__ = ["LoadKey", "load_key", "load_once", "loaded_models", "mark_warm", "is_warm"]

LoadKey = tuple[str, tuple]

# (model identity, device key) -> loaded adapter; lives for the process (a whole sweep).
_LOADED: dict[LoadKey, Model] = {}
# Load keys of adapters that already had their untimed warm-up call in this process.
_WARMED: set[LoadKey] = set()


def loaded_models() -> dict[LoadKey, Model]:
    """The process's loaded adapters by load key (shared with callers that load models themselves)."""
    return _LOADED


def load_key(model: Model, device: Device) -> LoadKey:
    return (model.identity_hash(), device.key())


def load_once(model: Model, device: Device, key: LoadKey | None = None) -> tuple[Model, float]:
    """The loaded adapter for ``model`` on ``device`` and the seconds loading took (0.0 when it was
    already loaded in this process, in which case the cached adapter is returned, not ``model``)."""
    key = key or load_key(model, device)
    if key in _LOADED:
        return _LOADED[key], 0.0
    start = time.perf_counter()
    model.setup(device)
    load_s = time.perf_counter() - start
    _LOADED[key] = model
    return model, load_s


def is_warm(key: LoadKey) -> bool:
    """Whether the adapter under ``key`` already had its untimed warm-up call in this process."""
    return key in _WARMED


def mark_warm(key: LoadKey) -> None:
    _WARMED.add(key)
