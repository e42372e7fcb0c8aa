"""Shared fixtures: a temporary results store and in-process runs through the real entry path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "results"
    monkeypatch.setenv("MODELLAB_RESULTS_DIR", str(out))
    return out


@pytest.fixture
def run_cell(results_dir: Path):
    """Compose like the CLI (Hydra overrides) and run one cell in-process."""
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    def _run(*overrides: str):
        cfg = compose_config([*overrides, f"results_dir={results_dir}", "progress=false"])
        return run_config(cfg)

    return _run


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python -m <args>`` in the repo as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )
