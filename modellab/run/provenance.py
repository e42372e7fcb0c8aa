"""Provenance recorded with every run: git sha and dirty flag, package versions, hardware."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from modellab.config import REPO_ROOT

__all__ = ["REPO_ROOT", "cpu_name", "git_state", "hardware", "package_versions"]


_PACKAGES = (
    "modellab",
    "torch",
    "faster-whisper",
    "ctranslate2",
    "onnxruntime",
    "transformers",
    "openai-whisper",
    "silero-vad",
    "webrtcvad-wheels",
    "pyannote.audio",
    "pyannote.metrics",
    "resemblyzer",
    "piper-tts",
    "jiwer",
    "whisper-normalizer",
    "numpy",
    "duckdb",
    "pyarrow",
    "hydra-core",
    "sacrebleu",
    "pywhispercpp",
)


# Tracked files the pipeline itself rewrites while it runs (``dvc repro`` updates the lock after
# each stage): changes to them do not make the code differ from the commit.
PIPELINE_BOOKKEEPING = ("dvc.lock",)


@functools.lru_cache(maxsize=8)
def git_state(root: Path = REPO_ROOT) -> tuple[str, bool]:
    """HEAD's sha and whether tracked files differ from it (the pipeline's own bookkeeping aside)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        excluded = [f":(exclude){name}" for name in PIPELINE_BOOKKEEPING]
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", *excluded))
    except Exception:  # noqa: BLE001 - not a checkout, or git missing
        return "unknown", False
    return sha, dirty


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, or what ``platform`` knows elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def hardware() -> dict[str, str]:
    import os

    info = {"cpu": cpu_name(), "cores": str(os.cpu_count()), "platform": platform.platform()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
