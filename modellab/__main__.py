"""``python -m modellab +model=NAME task=TASK [dataset=...] [-m for sweeps]``.

A cell that fails for a known reason (bad config, missing weights or extra, unusable dataset,
results not writable) prints one clear line. In a sweep the other cells still run; the sweep
then exits non-zero (see :class:`modellab.sweep.FailedCellsCallback`).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")  # pyannote telemetry off
os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
from modellab.sweep import record_failure  # noqa: E402

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
