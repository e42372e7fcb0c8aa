"""``index.html`` (quick demo, headline comparisons, matrices, leaderboards) and ``charts.html``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import Registry, Results
from modellab.site.overview import Overview
from modellab.site.shaping import Board

__all__ = ["write_charts_page", "write_index_page"]


def write_index_page(writer: PageWriter, results: Results, registry: Registry, overview: Overview) -> Path:
    runs = results.runs
    return writer.write(
        "index.html",
        "index.html",
        title="Leaderboard",
        boards=overview.boards,
        tasks=overview.tasks,
        matrices=overview.matrices,
        language_matrices=overview.language_matrices,
        headlines=overview.headlines,
        demo_datasets=_demo_datasets(registry, overview.boards),
        n_models=len({r.get("model") for r in runs}),
        n_datasets=len({r.get("dataset") for r in runs}),
        last_run=str(runs[0].get("started_at", ""))[:16].replace("T", " ") if runs else "",
    )


def write_charts_page(writer: PageWriter, overview: Overview) -> Path:
    return writer.write("charts.html", "charts.html", title="Charts", sections=overview.charts, tasks=overview.tasks)


def _demo_datasets(registry: Registry, boards: Sequence[Board]) -> list[Any]:
    """The golden datasets the leaderboards use (all golden ones before there are results)."""
    golden = [d for d in registry.datasets if d.kind == "golden"]
    used = {b.dataset for b in boards}
    return [d for d in golden if d.name in used] or golden
