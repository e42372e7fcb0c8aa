"""Speaker diarization: DER (missed / false alarm / confusion) and JER through pyannote.metrics,
predicted vs reference speaker count, RTTM per sample, speed.

The collar is the TOTAL no-score width around each reference boundary (pyannote.metrics'
convention: half on each side); it and the overlap handling are recorded on the run row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from modellab.metrics.diarization import DiarizationScorer, read_rttm, write_rttm
from modellab.models.base import DiarizationModel
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.types import Sample, SpeakerTurn

__all__ = ["DiarizationOptions", "DiarizationTask", "reference_turns", "safe_name"]


def safe_name(sample_id: str) -> str:
    """A file-name-safe form of a sample id (for per-sample artifacts)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", sample_id) or "sample"


def reference_turns(sample: Sample, duration_s: float) -> list[SpeakerTurn] | None:
    """The sample's RTTM turns in the sample's own time (offset applied, clipped), or ``None``.

    ``None`` means "no reference"; an empty list means "a reference with no speech".
    """
    if not sample.rttm_path:
        return None
    turns = read_rttm(sample.rttm_path)
    if not sample.offset_s and not sample.extra.get("end_s"):
        return turns
    out = []
    for t in turns:
        start, end = max(0.0, t.start - sample.offset_s), min(duration_s, t.end - sample.offset_s)
        if end > start:
            out.append(SpeakerTurn(start, end, t.speaker))
    return out


@dataclass
class DiarizationOptions:
    """Values come from conf/task/diarization.yaml (defaults live once, in YAML)."""

    collar_s: float  # TOTAL collar width (collar_s / 2 each side of every reference boundary)
    skip_overlap: bool  # true: regions where reference speakers overlap are not scored
    with_collar_s: float  # a second DER ("der_with_collar") with this total collar, same overlap handling


def _valid(turns: list[SpeakerTurn], duration_s: float) -> bool:
    return all(0.0 <= t.start < t.end <= duration_s + 0.05 and t.speaker for t in turns)


class DiarizationTask(Task):
    model_type = DiarizationModel
    Options = DiarizationOptions

    def to_record(self, output: list[SpeakerTurn], sample: Sample) -> dict[str, Any]:
        return {
            "turns": [{"start": float(t.start), "end": float(t.end), "speaker": str(t.speaker)} for t in output],
        }

    def save_artifact(self, output: list[SpeakerTurn], sample: Sample, folder: Any) -> str | None:
        name = safe_name(sample.sample_id)
        return str(write_rttm(output, Path(folder) / f"{name}.rttm", uri=name))

    def metadata(self) -> dict[str, Any]:
        o = self.options
        try:
            version = metadata.version("pyannote.metrics")
        except metadata.PackageNotFoundError:
            version = None
        return {
            "der_collar_s": o.collar_s,
            "der_collar_per_side_s": o.collar_s / 2,
            "der_collar_convention": "total (pyannote.metrics: collar_s/2 each side of every reference boundary)",
            "der_skip_overlap": o.skip_overlap,
            "der_overlap_handling": "overlap regions not scored" if o.skip_overlap else "overlapped speech scored",
            "der_with_collar_collar_s": o.with_collar_s,
            "der_metric": f"pyannote.metrics {version}" if version else "pyannote.metrics",
        }

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        o = self.options
        primary = DiarizationScorer(o.collar_s, o.skip_overlap)
        with_collar = DiarizationScorer(o.with_collar_s, o.skip_overlap)
        rows: list[dict[str, Any]] = []
        count_errors: list[int] = []
        ref_counts: list[int] = []
        hyp_counts: list[int] = []
        gate_results: list[bool] = []
        for rec in records:
            row: dict[str, Any] = {}
            if rec.error is not None or rec.output is None:
                rows.append(row)
                continue
            duration = rec.audio_s
            hyp = [SpeakerTurn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in rec.output["turns"]]
            row["hyp_speakers"] = len({t.speaker for t in hyp})
            row["n_turns"] = len(hyp)
            ref = reference_turns(rec.sample, duration)
            if ref is not None:
                s = primary.add(ref, hyp, duration)
                with_collar.add(ref, hyp, duration)
                n_ref, n_hyp = s.speaker_counts
                row.update(
                    der=s.der,
                    der_miss=s.miss_rate,
                    der_false_alarm=s.false_alarm_rate,
                    der_confusion=s.confusion_rate,
                    jer=s.jer,
                    scored_speech_s=s.total,
                    ref_speakers=n_ref,
                    speaker_count_error=n_hyp - n_ref,
                )
                count_errors.append(n_hyp - n_ref)
                ref_counts.append(n_ref)
                hyp_counts.append(n_hyp)
            gates = {
                "gate_valid_turns": _valid(hyp, duration),
                "gate_silence": (not hyp) if ref is not None and not ref else None,
            }
            row.update(gates)
            row["gates_passed"] = all(v for v in gates.values() if v is not None)
            gate_results.append(row["gates_passed"])
            rows.append(row)

        pooled = primary.pooled()
        pooled_collar = with_collar.pooled()
        metrics: list[Metric] = []
        if pooled is not None:
            metrics += [
                Metric("der", pooled.der, False),
                Metric("der_miss", pooled.miss_rate, False),
                Metric("der_false_alarm", pooled.false_alarm_rate, False),
                Metric("der_confusion", pooled.confusion_rate, False),
                Metric("jer", pooled.jer, False),
                Metric("der_with_collar", pooled_collar.der if pooled_collar else None, False),
                Metric("scored_speech_s", pooled.total, None),
            ]
        if count_errors:
            errors = np.array(count_errors)
            metrics += [
                Metric("speaker_count_accuracy", float(np.mean(errors == 0)), True),
                Metric("speaker_count_mae", float(np.mean(np.abs(errors))), False),
                Metric("ref_speakers_mean", float(np.mean(ref_counts)), None),
                Metric("hyp_speakers_mean", float(np.mean(hyp_counts)), None),
            ]
        if gate_results:
            metrics.append(Metric("gate_pass_rate", float(np.mean(gate_results)), True))
        summary = ""
        if pooled is not None and pooled.der is not None:
            summary = f"DER {100 * pooled.der:.2f}%  JER {100 * (pooled.jer or 0):.2f}%"
            if count_errors:
                summary += f"  speaker count right {int(np.sum(np.array(count_errors) == 0))}/{len(count_errors)}"
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        turns = (record.output or {}).get("turns", [])
        return "\n".join(f"[{t['start']:8.3f} --> {t['end']:8.3f}] {t['speaker']}" for t in turns) or "(no speech)"
