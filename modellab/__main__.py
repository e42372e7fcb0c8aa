"""``python -m modellab +model=NAME task=TASK [dataset=...] [-m for sweeps]``."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")  # pyannote telemetry off
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from modellab.app import run_config  # noqa: E402
from modellab.config import CONF_DIR, ConfigError  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float | None:
    hc = HydraConfig.get()
    sweep_id = os.path.basename(hc.sweep.dir) if hc.mode.name == "MULTIRUN" else None
    try:
        summary = run_config(cfg, sweep_id=sweep_id)
    except ConfigError as exc:
        print(f"modellab: config error: {exc}", file=sys.stderr)
        sys.exit(2)
    return summary.metrics.get("wer")


if __name__ == "__main__":
    main()
