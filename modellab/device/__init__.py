"""Device and thread settings applied to torch, ONNX Runtime and CTranslate2."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["Device"]

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CT2_INTER_THREADS")


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

    def key(self) -> tuple[str, int, str, int]:
        return (self.kind, self.index, self.compute_type, self.threads)

    @property
    def torch_device(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}" if self.kind == "cuda" else self.kind

    def apply_threads(self) -> None:
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
