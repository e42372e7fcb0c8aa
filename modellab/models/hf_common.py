"""Helpers shared by the Hugging Face transformers adapters (imported inside ``load()`` only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from modellab.audio import resample
from modellab.device import Device
from modellab.types import Audio

__all__ = ["as_rate", "quiet_transformers", "torch_dtype"]


def quiet_transformers() -> None:
    """Keep transformers' progress bars and advice out of benchmark logs."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def torch_dtype(device: Device) -> Any:
    """float16 where the device computes in half precision (CUDA), float32 otherwise."""
    import torch

    if device.kind != "cpu" and "float16" in device.compute_type:
        return torch.float16
    if device.kind != "cpu" and "bfloat16" in device.compute_type:
        return torch.bfloat16
    return torch.float32


def as_rate(audio: Audio, rate: int) -> np.ndarray:
    """Mono float32 samples at ``rate`` (resampled only when the input differs)."""
    samples = np.asarray(audio.samples, dtype=np.float32)
    if audio.sample_rate != rate:
        samples = resample(samples, audio.sample_rate, rate).astype(np.float32)
    return samples
