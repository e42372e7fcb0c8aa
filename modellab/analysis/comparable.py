"""Whether two runs can be compared at all, said before any pass or regression.

Any paired comparison needs the same data: the same audio (dataset content hash), scored with the
same normaliser (name and version) and task options. A check of a run against its own pinned
baseline also needs the same setup: the same model weights and options and the same
preprocessing (comparing two models, or clean against noisy input, varies exactly those on
purpose). Speed and memory are comparable only when, on top of that, the runs ran on the same
hardware, device, compute type, thread count and batch size. A comparison that fails is "not
comparable" (never a pass or a regression), and names the fields that differ.

Also here: how much of a run's pooled error one sample carries (a single looping hypothesis can
decide a pooled WER on its own), and the run's samples without those that failed a gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modellab.analysis.rundata import RunData

__all__ = [
    "DATA_FIELDS",
    "SETUP_FIELDS",
    "SPEED_FIELDS",
    "Comparability",
    "Concentration",
    "Difference",
    "check_comparable",
    "error_concentration",
    "identity_fields",
    "without_gate_failures",
]

# Values are compared as canonical JSON strings (or None when not recorded).
DATA_FIELDS = ("dataset_hash", "normalizer", "normalizer_version", "task_options")
SETUP_FIELDS = ("model_weights", "model_options", "preprocessing_steps")
# Speed and memory need these equal as well.
SPEED_FIELDS = ("hardware", "device", "compute_type", "threads", "batch_size")


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=str)


def _config(row: dict[str, Any]) -> dict[str, Any]:
    config = row.get("config")
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError:
            return {}
    return config if isinstance(config, dict) else {}


def identity_fields(run: RunData) -> dict[str, str | None]:
    """The fields that decide comparability, from a stored run (its config) or from a pin (stored as is)."""
    row, config = run.row, _config(run.row)
    section: dict[str, dict[str, Any]] = {
        name: value if isinstance(value := config.get(name), dict) else {} for name in ("model", "task")
    }
    derived = {
        "model_weights": section["model"].get("weights"),
        "model_options": section["model"].get("options"),
        "task_options": section["task"].get("options"),
    }
    values: dict[str, str | None] = {}
    for name in DATA_FIELDS + SETUP_FIELDS:
        value = row.get(name) if row.get(name) is not None else derived.get(name)
        values[name] = _canonical(value)
    values["hardware"] = run.hardware
    for name in SPEED_FIELDS[1:]:
        values[name] = _canonical(row.get(name))
    return values


@dataclass
class Difference:
    field: str
    baseline: str | None
    candidate: str | None

    def describe(self, width: int = 60) -> str:
        def short(v: str | None) -> str:
            text = "(not recorded)" if v is None else v
            return text if len(text) <= width else text[: width - 1] + "…"

        return f"{self.field}: {short(self.baseline)} -> {short(self.candidate)}"


@dataclass
class Comparability:
    """What differs between two runs: quality differences make them not comparable at all; speed
    differences only make speed and memory rules inapplicable."""

    quality: list[Difference] = field(default_factory=list)
    speed: list[Difference] = field(default_factory=list)

    @property
    def comparable(self) -> bool:
        return not self.quality

    @property
    def speed_comparable(self) -> bool:
        return not self.quality and not self.speed

    def reason(self) -> str:
        return "; ".join(d.describe() for d in self.quality)

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparable": self.comparable,
            "speed_comparable": self.speed_comparable,
            "differences": [vars(d) for d in self.quality],
            "speed_differences": [vars(d) for d in self.speed],
        }


def check_comparable(baseline: RunData, candidate: RunData, same_setup: bool = False) -> Comparability:
    """Compare the identity fields of two runs: the data always, the setup too with ``same_setup``
    (a run against its own pinned baseline). A field recorded on only one side counts as differing
    (a pin made before a field existed cannot vouch for it)."""
    a, b = identity_fields(baseline), identity_fields(candidate)
    result = Comparability()
    for name in DATA_FIELDS + (SETUP_FIELDS if same_setup else ()):
        if a[name] != b[name]:
            result.quality.append(Difference(name, a[name], b[name]))
    for name in SPEED_FIELDS:
        if a[name] != b[name]:
            result.speed.append(Difference(name, a[name], b[name]))
    return result


@dataclass
class Concentration:
    """How much of a run's pooled word errors its worst sample carries."""

    sample_id: str | None
    errors: float
    total_errors: float
    n_samples: int
    threshold: float

    @property
    def share(self) -> float:
        return self.errors / self.total_errors if self.total_errors else 0.0

    @property
    def flagged(self) -> bool:
        return self.total_errors > 0 and self.share > self.threshold

    def describe(self) -> str:
        return (
            f"one sample carries {self.share:.0%} of the run's {self.total_errors:.0f} word errors "
            f"({self.sample_id}: {self.errors:.0f} errors; {self.n_samples} samples)"
        )


def _errors(sample: dict[str, Any]) -> float | None:
    parts = [sample.get(k) for k in ("substitutions", "deletions", "insertions")]
    if any(p is None for p in parts):
        return None
    return float(sum(parts))  # type: ignore[arg-type]


def error_concentration(run: RunData, threshold: float = 0.3) -> Concentration | None:
    """The worst sample's share of the run's word errors (None when samples carry no error counts)."""
    counted = [(str(s.get("sample_id")), e) for s in run.samples if (e := _errors(s)) is not None]
    if not counted:
        return None
    worst_id, worst = max(counted, key=lambda item: item[1])
    return Concentration(worst_id, worst, sum(e for _, e in counted), len(counted), threshold)


def without_gate_failures(run: RunData, keep: set[str] | None = None) -> RunData:
    """``run`` restricted to samples that passed every transcript gate (or to the ids in ``keep``),
    with WER recomputed pooled over them (Σ errors ÷ Σ reference words)."""
    if keep is None:
        keep = {str(s.get("sample_id")) for s in run.samples if s.get("gates_passed") is not False}
    samples = [s for s in run.samples if str(s.get("sample_id")) in keep]
    metrics = dict(run.metrics)
    counted = [(e, float(s.get("ref_words") or 0)) for s in samples if (e := _errors(s)) is not None]
    ref_words = sum(r for _, r in counted)
    if ref_words:
        metrics["wer"] = sum(e for e, _ in counted) / ref_words
    else:
        metrics.pop("wer", None)
    return RunData(run.run_id, dict(run.row), metrics, dict(run.higher_is_better), samples, run.source)
