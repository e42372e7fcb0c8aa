"""``experiments.html`` (every ``-m`` sweep) and ``experiments/<sweep_id>.html`` (the config keys
that vary across its runs, and its results per task × dataset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import Results
from modellab.site.overview import group_runs
from modellab.site.shaping import build_board, experiment_page, flatten, slug, sweep_axes

__all__ = ["write_experiment_page", "write_experiment_pages", "write_experiments_page"]


def write_experiment_pages(writer: PageWriter, results: Results) -> int:
    """One page per sweep (newest first) and the experiments list; returns how many sweeps."""
    swept = group_runs([r for r in results.runs if r.get("sweep_id")], "sweep_id")
    sweeps = [
        write_experiment_page(writer, results, sweep_id, members)
        for (sweep_id,), members in sorted(swept.items(), reverse=True)
    ]
    write_experiments_page(writer, sweeps)
    return len(sweeps)


def write_experiment_page(
    writer: PageWriter, results: Results, sweep_id: str, members: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Write one sweep's page; return its summary (a row of the experiments list)."""
    configs = {str(r["run_id"]): _config(r) for r in members}
    axes = sweep_axes(list(configs.values()))
    flat = {rid: _axis_values(cfg, axes) for rid, cfg in configs.items()}
    shown_axes = [a for a in axes if a not in ("model", "task", "dataset")]
    boards = [
        build_board(
            f"exp-{slug(task)}-{slug(dataset)}",
            f"{task} · {dataset}",
            task,
            dataset,
            group,
            results.directions,
            lead=("model",),
            axes=shown_axes,
            flat_configs=flat,
        )
        for (task, dataset), group in sorted(group_runs(members, "task", "dataset").items())
    ]
    info = _sweep_summary(sweep_id, members)
    writer.write(
        experiment_page(sweep_id),
        "experiment.html",
        title=f"Experiment {sweep_id}",
        sweep=info,
        axes=axes,
        boards=boards,
    )
    return info


def write_experiments_page(writer: PageWriter, sweeps: list[dict[str, Any]]) -> Path:
    return writer.write("experiments.html", "experiments.html", title="Experiments", sweeps=sweeps)


def _sweep_summary(sweep_id: str, members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "id": sweep_id,
        "n_runs": len(members),
        "started": min(str(r.get("started_at") or "") for r in members)[:16].replace("T", " "),
        "models": sorted({str(r.get("model")) for r in members}),
        "datasets": sorted({str(r.get("dataset")) for r in members}),
        "statuses": sorted({str(r.get("status")) for r in members}),
    }


def _config(run: Mapping[str, Any]) -> dict[str, Any]:
    config = run.get("config")
    return config if isinstance(config, dict) else {}


def _axis_values(config: Mapping[str, Any], axes: Mapping[str, list[str]]) -> dict[str, Any]:
    flat = flatten(dict(config))
    return {axis: flat.get(f"{axis}.name", flat.get(axis)) for axis in axes}
