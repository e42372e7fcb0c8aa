"""Helpers shared by the Hugging Face transformers adapters (imported inside ``load()`` only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from modellab.audio import resample
from modellab.device import Device
from modellab.types import Audio

__all__ = ["as_rate", "in_batches", "load_processor_and_model", "quiet_transformers", "torch_dtype"]


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


def load_processor_and_model(adapter: Any, path: str, model_class: Any) -> None:
    """Set ``torch``, ``dtype``, ``processor``, ``model`` (eval, on the device) and ``rate`` on ``adapter``."""
    import torch
    from transformers import AutoProcessor

    quiet_transformers()
    adapter.torch = torch
    adapter.dtype = torch_dtype(adapter.device)
    adapter.processor = AutoProcessor.from_pretrained(path)
    adapter.model = model_class.from_pretrained(path, dtype=adapter.dtype).to(adapter.device.torch_device)
    adapter.model.eval()
    adapter.rate = int(adapter.processor.feature_extractor.sampling_rate)


def in_batches(items: list[Any], size: int, run: Callable[[list[Any]], list[Any]]) -> list[Any]:
    """``run`` over consecutive slices of at most ``size`` items, results concatenated in order."""
    size = max(1, size)
    out: list[Any] = []
    for start in range(0, len(items), size):
        out += run(items[start : start + size])
    return out
