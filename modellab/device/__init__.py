"""Device and thread settings applied to torch, ONNX Runtime and CTranslate2.

Threads policy: the processes running cells at the same time on one machine (``workers``) times
the threads each uses never exceed its cores. ``device.threads`` is lowered to ``cores // workers``
when it asks for more, and ``device.threads=0`` means "this worker's share". Workers are read from
``MODELLAB_WORKERS`` or, inside a Hydra joblib sweep, from ``hydra.launcher.n_jobs``. The launcher
configs in ``conf/hydra/launcher/`` size the pool the other way round: ``cores // device.threads``
workers (joblib), ``num_cpus = device.threads`` per task (Ray), ``cpus_per_task`` (SLURM).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from dataclasses import dataclass

__all__ = [
    "Device",
    "DeviceNotAvailableError",
    "available_cores",
    "check_device",
    "device_views",
    "choose_split",
    "concurrent_workers",
    "thread_budget",
    "workers_for",
]

logger = logging.getLogger(__name__)

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CT2_INTER_THREADS")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity: cgroup/SLURM limits included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def concurrent_workers() -> int:
    """How many cell-running processes share this machine: ``MODELLAB_WORKERS``, else the joblib
    launcher's ``n_jobs`` when inside a Hydra job, else 1."""
    env = os.environ.get("MODELLAB_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"MODELLAB_WORKERS={env!r}: expected a whole number of worker processes") from None
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            n_jobs = HydraConfig.get().launcher.get("n_jobs")
            if isinstance(n_jobs, int) and n_jobs != 0:
                return available_cores() if n_jobs < 0 else n_jobs
    except Exception:  # noqa: BLE001 - no Hydra context or an unresolvable launcher value: one worker
        pass
    return 1


def thread_budget(requested: int, workers: int | None = None, cores: int | None = None) -> int:
    """Threads for one worker so that workers × threads ≤ cores (0 requested: the worker's share)."""
    cores = cores or available_cores()
    workers = max(1, workers or concurrent_workers())
    share = max(1, cores // workers)
    return share if requested <= 0 else min(requested, share)


def workers_for(threads: int, cores: int | None = None) -> int:
    """Worker processes that fit on this machine at ``threads`` each (the joblib launcher's n_jobs)."""
    cores = cores or available_cores()
    threads = int(threads) if int(threads) > 0 else cores
    return max(1, cores // threads)


def choose_split(cells: int, cores: int | None = None) -> tuple[int, int]:
    """(workers, threads) for a sweep of ``cells`` cells: one single-threaded worker per core
    while there are cells for them (independent processes scale better than intra-op threads,
    measured in benchmarks/bench_threads.py), the leftover cores as threads otherwise."""
    cores = cores or available_cores()
    workers = max(1, min(cells, cores))
    return workers, max(1, cores // workers)


class DeviceNotAvailableError(ValueError):
    """``device=cuda``/``mps`` on a machine where no installed framework sees that device: a usage error
    (``python -m modellab`` exits 2). Not a ConfigError subclass only because modellab.config imports this module."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _torch_view(kind: str) -> tuple[str, int]:
    """(what torch sees, how many devices of ``kind``); imports torch only when it is installed."""
    if not _installed("torch"):
        return "torch: not installed", 0
    import torch

    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        found = bool(mps is not None and mps.is_available())
        return f"torch.backends.mps.is_available()={found}", int(found)
    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    return f"torch.cuda.is_available()={available}, torch.cuda.device_count()={count}", count


def _ctranslate2_view() -> tuple[str, int]:
    if not _installed("ctranslate2"):
        return "CTranslate2: not installed", 0
    import ctranslate2

    try:
        count = int(ctranslate2.get_cuda_device_count())
    except Exception as exc:  # noqa: BLE001 - a broken CUDA runtime reads as "no device", with the reason
        return f"ctranslate2.get_cuda_device_count() failed ({exc})", 0
    return f"ctranslate2.get_cuda_device_count()={count}", count


def _onnxruntime_view() -> tuple[str, int]:
    if not _installed("onnxruntime"):
        return "ONNX Runtime: not installed", 0
    import onnxruntime

    found = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    return f"onnxruntime CUDAExecutionProvider {'available' if found else 'absent'}", int(found)


def device_views(kind: str) -> list[tuple[str, int]]:
    """Each installed framework's view of ``kind`` devices: (description, device count)."""
    if kind == "mps":
        return [_torch_view("mps")]
    return [_torch_view("cuda"), _ctranslate2_view(), _onnxruntime_view()]


def check_device(kind: str, index: int = 0) -> None:
    """Refuse ``device=cuda``/``mps`` where no installed framework sees device ``index``, before any
    model loads: one line naming the device, what each framework found, and ``device=cpu`` as the fix."""
    if kind == "cpu":
        return
    if kind not in ("cuda", "mps"):
        raise DeviceNotAvailableError(f"device kind '{kind}' is not one of cpu, cuda, mps (conf/device/)")
    views = device_views(kind)
    if any(count > index for _, count in views):
        return
    name = f"{kind}:{index}" if kind == "cuda" else kind
    found = "; ".join(text for text, _ in views)
    raise DeviceNotAvailableError(f"device={kind} ({name}) is not available on this machine ({found}); use device=cpu")


@dataclass
class Device:
    """Where a model runs. ``threads`` is honoured by torch, ONNX Runtime and CTranslate2.

    Adapters read ``threads`` and ``compute_type`` from here: CTranslate2 takes
    ``cpu_threads``, ONNX Runtime sessions take ``intra_op_num_threads`` via
    :meth:`onnx_session_options`, and torch is set in :meth:`apply_threads`.
    """

    name: str = "cpu"
    kind: str = "cpu"
    index: int = 0
    compute_type: str = "int8"
    threads: int = 2
    _target_: str | None = None

    def __post_init__(self) -> None:
        self.requested_threads = int(self.threads)
        self.threads = thread_budget(self.requested_threads)

    def check_available(self) -> None:
        """Raise :class:`DeviceNotAvailableError` (one line) if this device is not on this machine."""
        check_device(self.kind, self.index)

    def key(self) -> tuple[str, int, str, int]:
        return (self.kind, self.index, self.compute_type, self.threads)

    @property
    def torch_device(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}" if self.kind == "cuda" else self.kind

    def apply_threads(self) -> None:
        if 0 < self.requested_threads != self.threads and not getattr(self, "_told", False):
            self._told = True
            logger.warning(
                "[modellab] device.threads=%d lowered to %d: %d worker(s) share %d cores",
                self.requested_threads,
                self.threads,
                concurrent_workers(),
                available_cores(),
            )
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        for var in _THREAD_ENV[1:3]:
            os.environ[var] = str(self.threads)
        torch = sys.modules.get("torch")  # only if a model already imported it
        if torch is not None and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def onnx_session_options(self):  # noqa: ANN201 - onnxruntime is optional
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        return opts

    def describe(self) -> str:
        return f"{self.name} ({self.compute_type}, {self.threads} threads)"
