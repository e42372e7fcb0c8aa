"""``models.html`` (the registry and every model with results) and ``models/<name>.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import ModelEntry, Registry, Results
from modellab.site.overview import group_runs
from modellab.site.pages.runs import recent_runs_board
from modellab.site.shaping import build_board, latest_per_setup, model_page, slug

__all__ = ["write_model_page", "write_model_pages", "write_models_page"]


def write_model_pages(writer: PageWriter, results: Results, registry: Registry) -> int:
    """One page per model (registry or results) and the models list; returns how many models."""
    entries = {m.name: m for m in registry.models}
    names = sorted(set(entries) | {str(r.get("model")) for r in results.runs})
    runs_by_model = group_runs(results.runs, "model")
    rows = []
    for name in names:
        own = runs_by_model.get((name,), [])
        rows.append({"name": name, "entry": entries.get(name), "n_runs": len(own)})
        write_model_page(writer, results, name, entries.get(name), own)
    write_models_page(writer, rows, registry.errors)
    return len(names)


def write_model_page(
    writer: PageWriter, results: Results, name: str, entry: ModelEntry | None, own: Sequence[Mapping[str, Any]]
) -> Path:
    """Registry facts and, per task, the latest run of each setup across datasets; then its runs."""
    boards = [
        build_board(
            f"model-{slug(task)}",
            task,
            task,
            "",
            members,
            results.directions,
            lead=("dataset", "preprocessing", "setup"),
        )
        for (task,), members in sorted(group_runs(latest_per_setup(own), "task").items())
    ]
    return writer.write(
        model_page(name),
        "model.html",
        title=f"Model {name}",
        name=name,
        entry=entry,
        boards=boards,
        recent=recent_runs_board(f"model-runs-{slug(name)}", own, results),
        n_own=len(own),
    )


def write_models_page(writer: PageWriter, rows: list[dict[str, Any]], errors: Sequence[str]) -> Path:
    return writer.write("models.html", "models.html", title="Models", models=rows, errors=errors)
