"""Task base class: one per task type. A task turns samples into model inputs and scores outputs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from modellab.config.options import NoOptions, plain_value, typed_options
from modellab.config.schema import ConfigError
from modellab.models.base import Model
from modellab.types import Audio, Sample

__all__ = ["CapabilityError", "Metric", "SampleRecord", "Scores", "Task"]


class CapabilityError(ConfigError):
    """A model was asked for a task it does not declare; raised before anything loads."""


@dataclass
class Metric:
    name: str
    value: float | None
    higher_is_better: bool | None = None
    unit: str = ""


@dataclass
class SampleRecord:
    """What the runner observed for one sample: raw output (JSON-able) or an error, and timings."""

    sample: Sample
    output: dict[str, Any] | None = None
    error: str | None = None
    compute_s: float = 0.0
    audio_s: float = 0.0
    artifact: str | None = None
    level_dbfs: float | None = None


@dataclass
class Scores:
    """Per-sample metric/gate columns (aligned with the records) and run-level metrics."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    summary: str = ""


class Task(ABC):
    """Subclasses set ``model_type`` (the base class their models must derive from) and ``Options``."""

    # a Model base class, abstract as a rule (mypy reads type[Model] as instantiable): for isinstance only
    model_type: ClassVar[type] = Model
    Options: ClassVar[type] = NoOptions
    needs_audio: ClassVar[bool] = True

    def __init__(self, name: str, options: Any = None, _target_: str | None = None) -> None:
        self.name = name
        self.options = typed_options(self.Options, plain_value(options), f"conf/task/{name}.yaml options")

    def check_model(self, model: Model) -> None:
        caps = [c.value if hasattr(c, "value") else str(c) for c in model.info.capabilities]
        if self.name not in caps:
            raise CapabilityError(
                f"model '{model.name}' cannot run task '{self.name}': its capabilities are {caps} "
                f"(conf/model/{model.name}.yaml info.capabilities)"
            )
        if not isinstance(model, self.model_type):
            raise CapabilityError(
                f"model '{model.name}' ({type(model).__name__}) is not a {self.model_type.__name__}, "
                f"which task '{self.name}' needs"
            )

    def check_dataset(self, model: Model, dataset: Any) -> None:
        """Refuse a model for this dataset before anything loads (ASR: its languages); nothing by default."""
        return None

    def identity(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "options": plain_value(self.options),
        }

    def inputs(self, sample: Sample, audio: Audio | None) -> Any:
        """The model input for one sample (audio by default)."""
        return audio

    def predict(self, model: Model, inputs: Any, sample: Sample) -> Any:
        """The timed model call. Keep it to the model call only."""
        return model.predict(inputs)

    def predict_batch(self, model: Model, inputs: list[Any], samples: list[Sample]) -> list[Any] | None:
        """The timed call on several samples at once (outputs in input order), or None where
        this task does not batch; the runner then calls :meth:`predict` per sample."""
        return None

    @abstractmethod
    def to_record(self, output: Any, sample: Sample) -> dict[str, Any]:
        """Raw output as JSON-able dict (stored as is; never normalised here)."""

    @abstractmethod
    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        """Per-sample and run-level metrics from the raw outputs."""

    def save_artifact(self, output: Any, sample: Sample, folder: Any) -> str | None:
        """Write a per-sample artifact (RTTM, wav, ...) and return its path; none by default."""
        return None

    def describe_output(self, record: SampleRecord) -> str:
        """Human-readable output for ad-hoc runs."""
        return str(record.output)

    def metadata(self) -> dict[str, Any]:
        """Extra provenance stored on the run row (normaliser, collar, ...)."""
        return {}
