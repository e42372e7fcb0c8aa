"""``workbench.html``: a form built from ``conf/`` that composes the exact ``python -m modellab`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import Registry

__all__ = ["write_workbench_page"]


def write_workbench_page(writer: PageWriter, registry: Registry) -> Path:
    return writer.write(
        "workbench.html",
        "workbench.html",
        title="Workbench",
        registry=_workbench_data(registry),
        default_model=_default_model(registry),
    )


def _default_model(registry: Registry) -> str:
    """The workbench's preselected model: a production ASR model if there is one."""
    asr = [m for m in registry.models if "asr" in m.capabilities]
    production = [m for m in asr if m.status == "production"]
    return (production or asr)[0].config if asr else ""


def _workbench_data(registry: Registry) -> dict[str, Any]:
    return {
        "models": [
            {"name": m.config, "capabilities": m.capabilities, "status": m.status, "devices": m.devices}
            for m in registry.models
        ],
        "tasks": registry.tasks,
        "datasets": [{"name": d.config, "tasks": d.tasks, "kind": d.kind} for d in registry.datasets],
        "devices": registry.devices,
        "preprocessing": registry.preprocessing,
        "defaults": registry.default_datasets,
    }
