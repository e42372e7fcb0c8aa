"""Forced alignment: word timestamps against exact reference boundaries (an STM file per sample).

Any ASR model that returns timed words can run it (faster-whisper with ``word_timestamps``, set
by this task through ``model_options``). A model that implements ``align(audio, text)`` (see
:class:`ReferenceAligner`) is given the reference transcript instead, when ``use_reference`` is on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from modellab.datasets.base import DatasetError
from modellab.datasets.builders.pyannote_sample import read_stm
from modellab.metrics.alignment import AlignmentResult, TimedUnit, align_units, summarize_alignment
from modellab.metrics.normalizers import get_normalizer
from modellab.models.base import ASRModel, Model
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.model_options import apply_model_options
from modellab.types import Audio, Sample, Transcript

__all__ = ["AlignmentOptions", "AlignmentTask", "ReferenceAligner", "reference_units"]


@runtime_checkable
class ReferenceAligner(Protocol):
    """A model that aligns a given transcript to audio (true forced alignment, e.g. CTC)."""

    def align(self, audio: Audio, text: str) -> Transcript: ...


@dataclass
class AlignmentOptions:
    """Values come from conf/task/alignment.yaml."""

    normalizer: str  # words are matched after this normaliser
    tolerances_ms: list[float]  # report the share of boundaries within each
    use_reference: bool  # give the reference transcript to models that accept one (ReferenceAligner)
    model_options: dict[str, Any]  # set on the model's options where its adapter has them


def reference_units(sample: Sample) -> list[TimedUnit]:
    """The timed reference words (or phrases) of a sample, from its STM file."""
    if not sample.stm_path:
        raise DatasetError(
            f"sample '{sample.sample_id}' has no STM file with reference boundaries "
            f"(manifest column 'stm'); alignment needs one per sample"
        )
    path = Path(sample.stm_path)
    try:
        rows = read_stm(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read reference boundaries ({exc})") from exc
    units = [TimedUnit(text, start, end) for _, start, end, text in rows]
    for unit in units:
        if unit.end < unit.start:
            raise DatasetError(f"{path}: unit '{unit.text}' ends ({unit.end}) before it starts ({unit.start})")
    return units


class AlignmentTask(Task):
    model_type = ASRModel
    Options = AlignmentOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.normalize = get_normalizer(self.options.normalizer)
        self.applied_model_options: dict[str, Any] = {}

    def check_model(self, model: Model) -> None:
        super().check_model(model)
        self.applied_model_options = apply_model_options(model, self.options.model_options)

    def inputs(self, sample: Sample, audio: Audio | None) -> Audio | None:
        reference_units(sample)  # fail this sample early, with the file named, if it has no boundaries
        return audio

    def predict(self, model: Any, inputs: Audio, sample: Sample) -> Transcript:
        if self.options.use_reference and sample.text and isinstance(model, ReferenceAligner):
            output = model.align(inputs, sample.text)
        else:
            output = model.predict(inputs)
        if output.text.strip() and not output.words:
            raise ValueError(
                f"model '{model.name}' returned text but no word timestamps; enable them in its options "
                f"(conf/model/{model.name}.yaml) or in conf/task/{self.name}.yaml model_options"
            )
        return output

    def to_record(self, output: Transcript, sample: Sample) -> dict[str, Any]:
        return {"text": output.text, "words": [asdict(w) for w in output.words], "language": output.language}

    def metadata(self) -> dict[str, Any]:
        return {"normalizer": self.normalize.name, "normalizer_version": self.normalize.version}

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        tolerances = self.options.tolerances_ms
        rows: list[dict[str, Any]] = []
        results: list[AlignmentResult] = []
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text, "hypothesis": None}
            if rec.error is None and rec.output is not None:
                row["hypothesis"] = rec.output.get("text", "")
                hyp = [TimedUnit(w["word"], w["start"], w["end"]) for w in rec.output.get("words") or []]
                result = align_units(reference_units(rec.sample), hyp, self.normalize)
                results.append(result)
                per_file = summarize_alignment([result], tolerances)
                row.update({k: v for k, v in per_file.items() if k not in ("start_bias_ms", "end_bias_ms")})
                row["ref_words"] = result.ref_tokens
                row["matched_words"] = result.matched_tokens
            rows.append(row)
        pooled = summarize_alignment(results, tolerances)
        higher = {"word_coverage": True, **{f"within_{t:g}ms": True for t in tolerances}}
        neutral = {"start_bias_ms", "end_bias_ms", "boundaries"}
        metrics = [
            Metric(
                name, value, None if name in neutral else higher.get(name, False), "ms" if name.endswith("_ms") else ""
            )
            for name, value in pooled.items()
        ]
        summary = ""
        if pooled["start_error_mean_ms"] is not None:
            mid = tolerances[len(tolerances) // 2]
            summary = (
                f"start error {pooled['start_error_mean_ms']:.0f} ms (median {pooled['start_error_median_ms']:.0f}), "
                f"end error {pooled['end_error_mean_ms']:.0f} ms, "
                f"{100 * (pooled[f'within_{mid:g}ms'] or 0):.0f}% within {mid:g} ms, "
                f"coverage {100 * (pooled['word_coverage'] or 0):.0f}%"
            )
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        words = (record.output or {}).get("words") or []
        return "\n".join(f"{w['start']:8.3f} {w['end']:8.3f}  {w['word']}" for w in words)
