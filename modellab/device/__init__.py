"""Device and thread settings applied to torch, ONNX Runtime and CTranslate2.

Threads policy: the processes running cells at the same time on one machine (``workers``) times
the threads each uses never exceed its cores. ``device.threads`` is lowered to ``cores // workers``
when it asks for more, and ``device.threads=0`` means "this worker's share". Workers are read from
``MODELLAB_WORKERS`` or, inside a Hydra joblib sweep, from ``hydra.launcher.n_jobs``. The launcher
configs in ``conf/hydra/launcher/`` size the pool the other way round: ``cores // device.threads``
workers (joblib), ``num_cpus = device.threads`` per task (Ray), ``cpus_per_task`` (SLURM).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = [
    "Device",
    "available_cores",
    "choose_split",
    "concurrent_workers",
    "thread_budget",
    "workers_for",
]

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

    def key(self) -> tuple[str, int, str, int]:
        return (self.kind, self.index, self.compute_type, self.threads)

    @property
    def torch_device(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}" if self.kind == "cuda" else self.kind

    def apply_threads(self) -> None:
        if 0 < self.requested_threads != self.threads and not getattr(self, "_told", False):
            self._told = True
            print(
                f"[modellab] device.threads={self.requested_threads} lowered to {self.threads}: "
                f"{concurrent_workers()} worker(s) share {available_cores()} cores",
                file=sys.stderr,
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
