"""Shared fixtures: a temporary results store and in-process runs through the real entry path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]

# --- --require-all: a skip for a missing dependency is a failure (scripts/test.sh sets it) -------------

REQUIRE_ALL_ENV = "MODELLAB_REQUIRE_ALL"
# Skips that stay skips under --require-all: they mean the machine has MORE than the test needs
# (reason pattern -> why that is not a broken install). Every other skip, importorskip included, fails.
ALLOWED_SKIPS: dict[str, str] = {
    r"this machine has a CUDA device": "test_exit_codes checks the no-GPU error path; a GPU machine cannot",
    r"liquid-audio may be installed on Python >= 3\.12": "test_model_contract checks the refusal below 3.12",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-all",
        action="store_true",
        default=False,
        help=f"fail instead of skip when a test's dependency is missing (also: {REQUIRE_ALL_ENV}=1)",
    )


def require_all(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-all")) or os.environ.get(REQUIRE_ALL_ENV, "") not in ("", "0")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _forbidden_skip(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """The failure message for a skip that --require-all does not allow, else None."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return None
    reason = _skip_reason(report)
    if any(re.search(pattern, reason) for pattern in ALLOWED_SKIPS):
        return None
    return (
        f"skipped, but {REQUIRE_ALL_ENV}=1 / --require-all forbids skips for a missing dependency "
        f"(scripts/setup.sh installs everything the tests use): {reason}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if require_all(item.config) and (message := _forbidden_skip(report)):
        report.outcome = "failed"
        report.longrepr = message


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    report = outcome.get_result()
    if require_all(collector.config) and (message := _forbidden_skip(report)):
        report.outcome = "failed"  # a module-level importorskip: a collection error instead
        report.longrepr = message


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
