"""``python -m modellab +model=NAME task=TASK [dataset=...] [-m for sweeps]``, or
``python -m modellab COMMAND ...`` for the lab's other commands (``python -m modellab help`` lists them).

A cell that fails for a known reason (bad config, missing weights or extra, unusable dataset,
results not writable, a device this machine lacks) prints one clear line. In a sweep the other
cells still run; the sweep then exits non-zero (see :class:`modellab.run.sweep.FailedCellsCallback`).

Exit codes (docs/exit-codes.md): 0 every cell ok; 1 an unexpected error (traceback); 2 a usage or
config error (Hydra's own composition errors included); 3 a cell could not run (weights, extra,
dataset, results store); 4 a run failed (``fail_on=run``, the default) or any sample failed
(``fail_on=sample``); ``fail_on=never`` leaves failed runs at 0.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modellab.run.runner import RunSummary

# Subcommands: a bare first word (Hydra overrides always hold "=" or start with "-").
COMMANDS = {
    "lab": ("modellab.run.lab", "build data, run the default sweeps, build the site"),
    "rescore": ("modellab.run.rescore", "score stored runs again from their raw outputs"),
    "query": ("modellab.results.query", "SQL over the results (DuckDB views runs, samples, metrics)"),
    "compare": ("modellab.site.compare_cli", "paired comparison of two runs, with gates (--html: a page)"),
    "export": ("modellab.analysis.export", "a run as trn, ctm, stm, rttm or jsonl (sclite, md-eval, Open ASR)"),
    "baselines": ("modellab.analysis.baselines", "pin runs as baselines; check the latest runs against them"),
    "promote": ("modellab.analysis.promote", "propose a model's next registry status from the evidence"),
    "findings": ("modellab.analysis.findings", "evidence-backed recommendations per use case"),
    "report": ("modellab.analysis.report", "regenerate the measured tables of README.md and docs/ (--check: stale?)"),
    "mos": ("modellab.analysis.mos", "listening tests: MOS page and ingestion of ratings"),
    "site": ("modellab.site", "build the static leaderboard site"),
    "models": ("modellab.models", "the model registry, with what can run here"),
    "datasets": ("modellab.datasets", "datasets, and building them"),
    "pipeline": ("modellab.pipeline", "write dvc.yaml from conf/"),
}


def _dispatch(argv: list[str]) -> None:
    """Run ``python -m modellab COMMAND ARGS...`` as ``python -m <module> ARGS...``."""
    command = argv[1]
    if command in ("help", "--commands"):
        width = max(map(len, COMMANDS))
        print("python -m modellab +model=NAME task=TASK [...]   one run (Hydra; -m for sweeps)")
        for name, (_, text) in COMMANDS.items():
            print(f"python -m modellab {name:<{width}}  {text}")
        sys.exit(0)
    module = COMMANDS[command][0]
    from modellab.logs import setup_cli_logging

    setup_cli_logging()  # INFO messages of the command on stderr (each command's main also does this)
    sys.argv = [f"python -m modellab {command}", *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    sys.exit(0)


os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")  # pyannote telemetry off
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if len(sys.argv) > 1 and (sys.argv[1] in COMMANDS or sys.argv[1] in ("help", "--commands")):
    _dispatch(sys.argv)
# Hydra finds the modellab sweeper (hydra_plugins.modellab_sweeper) on this path.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins"))

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from modellab.app import run_config  # noqa: E402
from modellab.audio import set_audio_cache_mb  # noqa: E402
from modellab.config import CONF_DIR, ConfigError  # noqa: E402
from modellab.config.yamlfile import report_invalid_yaml  # noqa: E402
from modellab.datasets.base import DatasetError, DatasetNotAvailableError  # noqa: E402
from modellab.device import DeviceNotAvailableError, check_device  # noqa: E402
from modellab.models.base import MissingExtraError  # noqa: E402
from modellab.models.weights import WeightsNotFoundError  # noqa: E402
from modellab.results.store import ResultsWriteError  # noqa: E402
from modellab.run.sweep import (  # noqa: E402
    EXIT_CANNOT_RUN,
    EXIT_FAILED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    FAIL_ON,
    config_composed,
    record_failure,
    run_failure,
)

USAGE_ERRORS = (ConfigError, DeviceNotAvailableError)
KNOWN_ERRORS = (
    ConfigError,
    DeviceNotAvailableError,
    ResultsWriteError,
    DatasetError,
    DatasetNotAvailableError,
    WeightsNotFoundError,
    MissingExtraError,
)


def _fail_on(cfg: DictConfig) -> str:
    value = str(cfg.get("fail_on", "run"))
    if value not in FAIL_ON:
        raise ConfigError(f"fail_on={value!r}: expected one of {', '.join(FAIL_ON)} (conf/config.yaml)")
    return value


def _outcome(cfg: DictConfig, summary: RunSummary, fail_on: str) -> tuple[str, int, int]:
    """(status, failed samples, samples) of the run; a reused run's come from the store (only
    ``fail_on=sample`` needs them: a reused run is never a failed one)."""
    if not summary.cached or fail_on != "sample":
        return summary.status, summary.n_failed, summary.n_samples
    from pathlib import Path

    from modellab.results.views import connect

    row = (
        connect(Path(str(cfg.results_dir)))
        .execute("SELECT status, n_failed, n_samples FROM runs_raw WHERE run_id = ?", [summary.run_id])
        .fetchone()
    )
    return (str(row[0]), int(row[1]), int(row[2])) if row else (summary.status, 0, summary.n_samples)


def _check_device(cfg: DictConfig) -> None:
    device = cfg.get("device")
    if device is not None:
        check_device(str(device.get("kind", "cpu")), int(device.get("index", 0)))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float | None:
    hc = HydraConfig.get()
    multirun = hc.mode is RunMode.MULTIRUN
    sweep_id = os.path.basename(hc.sweep.dir) if multirun else None
    cell = " ".join(hc.overrides.task)
    if not multirun and "MODELLAB_AUDIO_CACHE_MB" not in os.environ:
        set_audio_cache_mb(0)  # one cell: no later cell reuses decoded audio, so hold none
    try:
        fail_on = _fail_on(cfg)
        _check_device(cfg)  # before anything loads
        summary = run_config(cfg, sweep_id=sweep_id)
    except KNOWN_ERRORS as exc:
        code = EXIT_USAGE if isinstance(exc, USAGE_ERRORS) else EXIT_CANNOT_RUN
        kind = "config error: " if isinstance(exc, ConfigError) else ""
        print(f"modellab: {kind}{exc}", file=sys.stderr)
        if multirun:
            record_failure(hc.sweep.dir, cell, str(exc), code)
            return None
        sys.exit(code)
    problem = run_failure(*_outcome(cfg, summary, fail_on), fail_on)
    if problem:
        print(
            f"modellab: run {summary.run_id}: {problem} (exit {EXIT_FAILED}; fail_on=never ignores it)", file=sys.stderr
        )
        if multirun:
            record_failure(hc.sweep.dir, cell, f"run {summary.run_id}: {problem}", EXIT_FAILED)
        else:
            sys.exit(EXIT_FAILED)
    return summary.metrics.get("wer")


def _sets_mode(override: str) -> bool:
    """Whether a command-line override sets ``hydra.mode`` (``hydra.mode=RUN``, ``++hydra.mode=...``)."""
    return override.lstrip("+~").partition("=")[0].strip() == "hydra.mode"


def _compose_once() -> None:
    """Skip the composition Hydra makes only to read ``hydra.mode`` before composing again to run
    (``Hydra.get_mode``: a whole compose, ~0.5 s of a single run). No file of conf/ sets ``hydra.mode``
    (tests/test_startup_costs.py checks), so the probe's answer is None, "as the command line says" (``-m``
    or not), unless an override sets it: then Hydra's own probe runs. A config that fails to compose
    made the probe answer None as well; the one composition left reports the error as before."""
    from hydra._internal.hydra import Hydra

    probe = Hydra.get_mode
    if getattr(probe, "modellab_compose_once", False):
        return

    def get_mode(self: Hydra, config_name: str | None, overrides: list[str]) -> RunMode | None:
        if any(_sets_mode(o) for o in overrides):
            return probe(self, config_name=config_name, overrides=overrides)
        return None

    get_mode.modellab_compose_once = True  # type: ignore[attr-defined]
    Hydra.get_mode = get_mode  # type: ignore[method-assign]


def _main() -> None:
    """Hydra's main; its exit 1 for an error before the config is composed (an unknown config
    group option, a malformed override) becomes 2, a usage error."""
    _compose_once()
    report_invalid_yaml()  # a conf file that is not valid YAML: one line naming it (exit 2), not a traceback
    try:
        main()
    except SystemExit as exc:
        if exc.code == EXIT_UNEXPECTED and not config_composed():
            sys.exit(EXIT_USAGE)
        raise


if __name__ == "__main__":
    _main()
