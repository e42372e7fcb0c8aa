"""Base classes for model adapters: one per task type. Adapters write ``load()`` and ``predict()``."""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from modellab.config.options import NoOptions, plain_value, typed_options
from modellab.config.schema import ModelInfo, WeightsConfig
from modellab.device import Device
from modellab.types import Audio, Segment, SpeakerTurn, Transcript

__all__ = [
    "ASRModel",
    "DiarizationModel",
    "MissingExtraError",
    "Model",
    "NoOptions",
    "TTSModel",
    "TranslationModel",
    "VADModel",
    "keep_freed_memory",
]


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def keep_freed_memory(mb: int) -> bool:
    """Let glibc serve blocks up to ``mb`` MB from the heap and keep freed ones there (``mallopt``),
    instead of mapping each large block anew and unmapping it when freed: a runtime that allocates
    and frees the same large buffers on every call (CTranslate2's Whisper attention, ~50 MB a
    layer) then stops paying page faults for them. Process-wide and exact (the same arithmetic);
    False where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    size = int(mb) * 2**20
    return bool(mallopt(_M_MMAP_THRESHOLD, size)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * size))


class MissingExtraError(RuntimeError):
    """A model's optional dependency is not installed; the message has the exact install line."""


class Model(ABC):
    """A thin adapter around one model library.

    The constructor only validates config (cheap, no imports of heavy libraries); ``load()``
    brings weights into memory; ``predict()`` runs one input. Subclasses set ``Options`` to a
    dataclass of their parameters and ``requires`` to the import names of their extra.
    """

    Options: ClassVar[type] = NoOptions

    def __init__(
        self,
        name: str,
        info: Any = None,
        weights: Any = None,
        options: Any = None,
        _target_: str | None = None,
    ) -> None:
        self.name = name
        self.info: ModelInfo = typed_options(ModelInfo, plain_value(info), f"conf/model/{name}.yaml info")
        self.weights: WeightsConfig = typed_options(
            WeightsConfig, plain_value(weights), f"conf/model/{name}.yaml weights"
        )
        self.options = typed_options(self.Options, plain_value(options), f"conf/model/{name}.yaml options")
        self.device: Device = Device()
        self.loaded = False

    # --- what adapters implement -------------------------------------------------------
    @abstractmethod
    def load(self) -> None:
        """Bring weights into memory on ``self.device``."""

    @abstractmethod
    def predict(self, inputs: Any) -> Any:
        """Run the model on one input."""

    # --- shared machinery --------------------------------------------------------------
    def setup(self, device: Device) -> None:
        """Check the extra, apply the device, then ``load()`` once."""
        if self.loaded and device.key() == self.device.key():
            return
        self.check_requirements()
        self.device = device
        device.apply_threads()
        self.load()
        device.apply_threads()  # again: load() may have imported torch
        self.loaded = True

    def check_requirements(self) -> None:
        missing = []
        for module in self.info.requires:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - any import failure means "not usable"
                missing.append(module)
        if missing:
            extra = self.info.extra or self.name
            raise MissingExtraError(
                f"model '{self.name}' needs {', '.join(missing)}, which is not installed here. "
                f"Install it with: .venv/bin/pip install -e '.[{extra}]'"
            )

    def requirements_met(self) -> bool:
        try:
            self.check_requirements()
        except MissingExtraError:
            return False
        return True

    @property
    def parameters(self) -> dict[str, Any]:
        return plain_value(self.options)

    def identity(self) -> dict[str, Any]:
        """What makes this model's outputs what they are (for cache keys and provenance)."""
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "name": self.name,
            "weights": plain_value(self.weights),
            "options": self.parameters,
        }

    def identity_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def batch_size(self) -> int:
        return int(getattr(self.options, "batch_size", 1) or 1)

    @property
    def inputs_per_call(self) -> int:
        """How many inputs the runner hands ``predict_batch`` at once: ``batch_size``, unless the
        adapter's ``batch_size`` means something else (faster-whisper: ``files_per_batch``)."""
        return self.batch_size

    @property
    def warm_up_inputs(self) -> int:
        """Inputs in the untimed warm-up call of the batched path: enough to touch every code path
        and buffer once (a full batch by default), not a share of the dataset."""
        return self.inputs_per_call

    @property
    def batches_inputs(self) -> bool:
        """Whether the runner hands this model ``inputs_per_call`` inputs per call: more than one,
        and an adapter whose ``predict_batch`` really batches (not the one-at-a-time default)."""
        fn = getattr(type(self), "predict_batch", None)
        return self.inputs_per_call > 1 and fn is not None and not getattr(fn, "one_at_a_time", False)

    def take_run_metrics(self, n_calls: int) -> list[tuple[str, float, bool]]:
        """What the adapter measured itself over its last ``n_calls`` timed calls (earlier ones, the
        warm-up, are dropped) as ``(name, value, higher_is_better)``, stored beside the runner's
        metrics (e.g. the time inside a browser page); then forgotten. None by default."""
        return []

    def unload(self) -> None:
        self.loaded = False


class ASRModel(Model):
    @abstractmethod
    def predict(self, inputs: Audio) -> Transcript: ...

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        """Override where the library batches; the default runs one at a time."""
        return [self.predict(audio) for audio in batch]

    predict_batch.one_at_a_time = True  # type: ignore[attr-defined]


class VADModel(Model):
    @abstractmethod
    def predict(self, inputs: Audio) -> list[Segment]: ...


class DiarizationModel(Model):
    @abstractmethod
    def predict(self, inputs: Audio) -> list[SpeakerTurn]: ...


class TTSModel(Model):
    @abstractmethod
    def predict(self, inputs: str) -> Audio: ...


class TranslationModel(Model):
    """Speech in, text in ``target_language`` out."""

    @abstractmethod
    def predict(self, inputs: Audio) -> Transcript: ...
