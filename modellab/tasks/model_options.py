"""Model options a task needs (e.g. ``word_timestamps`` for alignment), applied before anything loads."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from modellab.models.base import Model

__all__ = ["apply_model_options"]


def apply_model_options(model: Model, values: dict[str, Any]) -> dict[str, Any]:
    """Set each of ``values`` on ``model.options`` where the adapter's ``Options`` has that field.

    Adapters without the field are left alone (a CTC aligner always returns word times). The
    options become part of the model's identity, so the cell key and the run's ``model_params``
    record them. Returns the options that were set.
    """
    options = model.options
    if not is_dataclass(options):
        return {}
    names = {f.name for f in fields(options)}
    applied = {}
    for key, value in values.items():
        if key in names:
            setattr(options, key, value)
            applied[key] = value
    return applied
