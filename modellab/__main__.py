"""``python -m modellab +model=NAME task=TASK [dataset=...] [-m for sweeps]``, or
``python -m modellab COMMAND ...`` for the lab's other commands (``python -m modellab help`` lists them).

A cell that fails for a known reason (bad config, missing weights or extra, unusable dataset,
results not writable) prints one clear line. In a sweep the other cells still run; the sweep
then exits non-zero (see :class:`modellab.run.sweep.FailedCellsCallback`).
"""

from __future__ import annotations

import os
import runpy
import sys

# Subcommands: a bare first word (Hydra overrides always hold "=" or start with "-").
COMMANDS = {
    "lab": ("modellab.run.lab", "build data, run the default sweeps, build the site"),
    "rescore": ("modellab.run.rescore", "score stored runs again from their raw outputs"),
    "query": ("modellab.results.query", "SQL over the results (DuckDB views runs, samples, metrics)"),
    "compare": ("modellab.analysis.compare", "paired comparison of two runs, with gates"),
    "baselines": ("modellab.analysis.baselines", "pin runs as baselines; check the latest runs against them"),
    "promote": ("modellab.analysis.promote", "propose a model's next registry status from the evidence"),
    "findings": ("modellab.analysis.findings", "evidence-backed recommendations per use case"),
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
from omegaconf import DictConfig  # noqa: E402

from modellab.app import run_config  # noqa: E402
from modellab.audio import set_audio_cache_mb  # noqa: E402
from modellab.config import CONF_DIR, ConfigError  # noqa: E402
from modellab.datasets.base import DatasetError, DatasetNotAvailableError  # noqa: E402
from modellab.models.base import MissingExtraError  # noqa: E402
from modellab.models.weights import WeightsNotFoundError  # noqa: E402
from modellab.results.store import ResultsWriteError  # noqa: E402
from modellab.run.sweep import record_failure  # noqa: E402

KNOWN_ERRORS = (
    ConfigError,
    ResultsWriteError,
    DatasetError,
    DatasetNotAvailableError,
    WeightsNotFoundError,
    MissingExtraError,
)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float | None:
    hc = HydraConfig.get()
    multirun = hc.mode.name == "MULTIRUN"
    sweep_id = os.path.basename(hc.sweep.dir) if multirun else None
    if not multirun and "MODELLAB_AUDIO_CACHE_MB" not in os.environ:
        set_audio_cache_mb(0)  # one cell: no later cell reuses decoded audio, so hold none
    try:
        summary = run_config(cfg, sweep_id=sweep_id)
    except KNOWN_ERRORS as exc:
        kind = "config error: " if isinstance(exc, ConfigError) else ""
        print(f"modellab: {kind}{exc}", file=sys.stderr)
        if multirun:
            record_failure(hc.sweep.dir, " ".join(hc.overrides.task), str(exc))
            return None
        sys.exit(2 if isinstance(exc, ConfigError) else 3)
    return summary.metrics.get("wer")


if __name__ == "__main__":
    main()
