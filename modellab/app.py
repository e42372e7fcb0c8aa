"""Compose → validate → instantiate → run. The entry point and tests both go through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from modellab.config import ConfigError, group_options, instantiate_component, validate_group
from modellab.datasets.adhoc import AdHocDataset
from modellab.datasets.base import Dataset
from modellab.device import Device
from modellab.metrics.stats import Intervals
from modellab.models.base import Model
from modellab.preprocessing import Pipeline
from modellab.results.store import ResultsStore
from modellab.run.cellindex import remember_cell
from modellab.run.codehash import cell_modules
from modellab.run.runner import Runner, RunSummary
from modellab.tasks.base import Task

__all__ = ["Cell", "build_cell", "run_config"]


@dataclass
class Cell:
    model: Model
    task: Task
    dataset: Dataset
    device: Device
    preprocessing: Pipeline


def _require(cfg: DictConfig, group: str) -> None:
    if cfg.get(group) is None:
        raise ConfigError(
            f"no {group} selected: add +{group}=<name> (or {group}=<name>); valid: {', '.join(group_options(group))}"
        )


def build_cell(cfg: DictConfig) -> Cell:
    """Validate every group against its schema and instantiate (cheap: nothing loads here)."""
    for group in ("model", "task", "dataset", "device", "preprocessing"):
        _require(cfg, group)
        cfg[group] = validate_group(group, cfg[group])
    if cfg.get("hardware") is not None:  # the priced machine (conf/hardware/), optional in hand-made configs
        cfg.hardware = validate_group("hardware", cfg.hardware)
    model = instantiate_component(cfg.model, _convert_="all")
    task = instantiate_component(cfg.task, _convert_="all")
    if cfg.get("audio"):
        dataset: Dataset = AdHocDataset(str(cfg.audio), text=cfg.get("reference"), tasks=[task.name])
    else:
        dataset = instantiate_component(cfg.dataset, _convert_="all", _recursive_=False)
    if task.name not in dataset.tasks and not cfg.get("audio"):
        raise ConfigError(
            f"dataset '{dataset.name}' is not a {task.name} dataset (its tasks: {dataset.tasks}); "
            f"pick one of: {', '.join(n for n in group_options('dataset'))}"
        )
    device = instantiate_component(cfg.device)
    preprocessing = instantiate_component(cfg.preprocessing, _convert_="all")
    task.check_model(model)  # refuse before anything loads
    task.check_dataset(model, dataset)  # e.g. an English-only model on French samples
    return Cell(model, task, dataset, device, preprocessing)


def run_config(cfg: DictConfig, sweep_id: str | None = None) -> RunSummary:
    cell = build_cell(cfg)
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    plain.pop("hydra", None)
    runner = Runner(
        cell.model,
        cell.task,
        cell.dataset,
        cell.device,
        cell.preprocessing,
        ResultsStore(cfg.results_dir),
        config=plain,
        seed=int(cfg.seed),
        warmup=bool(cfg.warmup),
        force=bool(cfg.force),
        progress=bool(cfg.progress),
        sweep_id=sweep_id,
        intervals=Intervals(int(cfg.intervals.resamples), float(cfg.intervals.level)),
    )
    summary = runner.run()
    code = cell_modules(cell.model, cell.task, cell.preprocessing)  # as the runner's cell key
    remember_cell(cfg.results_dir, cell.dataset, summary.run_id, summary.status, runner.label(), code)
    if cfg.get("audio"):
        for record in summary.records:
            print(cell.task.describe_output(record))
    return summary
