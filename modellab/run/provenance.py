"""Provenance recorded with every run: git sha and dirty flag, package versions, hardware."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modellab.config import REPO_ROOT

__all__ = [
    "REPO_ROOT",
    "cpu_name",
    "git_state",
    "hardware",
    "hardware_profile",
    "machine_share",
    "package_versions",
    "vector_isa",
]


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
    "speechmos",
    "distillmos",
    "xls-r-sqa",
    "meeteval",
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
    """Python's version, then each installed package of :data:`_PACKAGES` (disk-cached: see
    :func:`modellab.run.codehash.installed_versions`)."""
    from modellab.run.codehash import installed_versions

    return {"python": sys.version.split()[0], **installed_versions(_PACKAGES)}


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, or what ``platform`` knows elsewhere."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def _cpuinfo(*keys: str) -> str | None:
    """The value of the first /proc/cpuinfo line starting with one of ``keys`` (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(keys):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def vector_isa(flags: set[str] | None = None) -> str:
    """The widest SIMD extension the CPU reports (x86: ``avx512``, ``avx2``, ``avx``, ``sse``; elsewhere the
    machine name). int8 kernels (CTranslate2's own and oneDNN's) dispatch on it, so the same weights and
    audio can decode to different transcripts on an AVX2 and an AVX-512 machine: it is part of the
    hardware a run is compared and pinned by."""
    if flags is None:
        flags = set((_cpuinfo("flags", "Features") or "").split())
    if not flags or not ({"sse2", "avx", "avx2", "avx512f"} & flags):
        return platform.machine().lower() or "unknown"
    for isa, flag in (("avx512", "avx512f"), ("avx2", "avx2"), ("avx", "avx")):
        if flag in flags:
            return isa
    return "sse"


@functools.lru_cache(maxsize=1)
def hardware() -> dict[str, str]:
    import os

    info = {"cpu": cpu_name(), "isa": vector_isa(), "cores": str(os.cpu_count()), "platform": platform.platform()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_share(config: Mapping[str, Any], cores: Any) -> float:
    """The share of the priced machine a run uses: on CPU its threads of the profile's cores (at most
    all), the rest serving other streams; on an accelerator the whole machine."""
    device = config.get("device")
    if not isinstance(device, Mapping) or device.get("kind", "cpu") != "cpu" or not cores:
        return 1.0
    threads = device.get("threads") or cores
    return min(1.0, float(threads) / float(cores))


def hardware_profile(config: Mapping[str, Any]) -> dict[str, Any]:
    """Run columns of the priced hardware profile (``hardware=<name>``, conf/hardware/): its name, price
    per hour (USD), cores, memory, accelerator, and the price charged to this run (price × the share
    of the machine it uses, :func:`machine_share`); none when the config has no profile."""
    profile = config.get("hardware")
    if not isinstance(profile, Mapping) or profile.get("price_per_hour") is None:
        return {}
    price = float(profile["price_per_hour"])
    return {
        "hardware_profile": profile.get("name"),
        "price_per_hour": price,
        "price_charged_per_hour": price * machine_share(config, profile.get("cores")),
        "hardware_cores": profile.get("cores"),
        "hardware_memory_gb": profile.get("memory_gb"),
        "hardware_accelerator": profile.get("accelerator"),
    }
