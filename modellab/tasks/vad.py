"""VAD: frame-level precision/recall/F1/detection error at ``frame_s`` frames, speech ratio,
segment count, boundary error, health gates (also on smoke sets without references), speed.

References are the union of a sample's RTTM turns (any speaker); a sample whose RTTM is empty
is known to hold no speech (pure silence or noise). A sample without RTTM has no reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modellab.metrics.diarization import rttm_lines
from modellab.metrics.vad import FrameCounts, boundary_errors, frame_counts, merge_segments, speech_duration
from modellab.models.base import VADModel
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.diarization import reference_turns, safe_name
from modellab.types import Sample, Segment, SpeakerTurn

__all__ = ["VADGateOptions", "VADOptions", "VADTask", "vad_gates"]


@dataclass
class VADGateOptions:
    """Pass/fail checks per sample; none of them needs a reference."""

    silence_dbfs: float  # input quieter than this counts as silence (no speech expected)
    max_speech_ratio_silence: float  # on silence or a no-speech reference: at most this much "speech"
    max_segments_per_min: float  # more segments than this per minute is flicker


@dataclass
class VADOptions:
    """Values come from conf/task/vad.yaml (defaults live once, in YAML)."""

    frame_s: float  # frame length of the frame-level scores
    gates: VADGateOptions


def _valid(segments: list[tuple[float, float]], duration_s: float) -> bool:
    previous_end = 0.0
    for start, end in segments:
        if not (0.0 <= start < end <= duration_s + 0.05) or start < previous_end - 1e-6:
            return False
        previous_end = end
    return True


def vad_gates(
    segments: list[tuple[float, float]],
    duration_s: float,
    expect_silence: bool,
    gates: VADGateOptions,
) -> dict[str, bool | None]:
    """Gate name -> passed (None = not applicable)."""
    ratio = speech_duration(segments) / duration_s if duration_s > 0 else 0.0
    return {
        "gate_valid_segments": _valid(segments, duration_s),
        "gate_silence": (ratio <= gates.max_speech_ratio_silence) if expect_silence else None,
        "gate_segment_rate": (len(segments) / (duration_s / 60.0) <= gates.max_segments_per_min)
        if duration_s > 0
        else None,
    }


class VADTask(Task):
    model_type = VADModel
    Options = VADOptions

    def to_record(self, output: list[Segment], sample: Sample) -> dict[str, Any]:
        return {"segments": [{"start": float(s.start), "end": float(s.end)} for s in output]}

    def save_artifact(self, output: list[Segment], sample: Sample, folder: Any) -> str | None:
        turns = [SpeakerTurn(s.start, s.end, "speech") for s in output]
        path = Path(folder) / f"{safe_name(sample.sample_id)}.rttm"
        path.write_text("".join(line + "\n" for line in rttm_lines(turns, safe_name(sample.sample_id))))
        return str(path)

    def metadata(self) -> dict[str, Any]:
        return {"vad_frame_s": self.options.frame_s, "vad_reference": "union of RTTM turns"}

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        opts = self.options
        rows: list[dict[str, Any]] = []
        pooled = FrameCounts()
        boundaries: list[float] = []
        n_scored = 0
        hyp_speech = ref_speech = total_s = scored_s = 0.0
        n_segments = 0
        silence_ratios: list[float] = []
        gate_results: list[bool] = []
        compute_s = audio_s = 0.0
        for rec in records:
            row: dict[str, Any] = {}
            if rec.error is not None or rec.output is None:
                rows.append(row)
                continue
            duration = rec.audio_s
            hyp = [(float(s["start"]), float(s["end"])) for s in rec.output.get("segments", [])]
            ref_turns = reference_turns(rec.sample, duration)
            ref = merge_segments((t.start, t.end) for t in ref_turns) if ref_turns is not None else None
            ratio = speech_duration(hyp) / duration if duration > 0 else 0.0
            row.update(speech_ratio=ratio, n_segments=len(hyp))
            hyp_speech += ratio * duration
            total_s += duration
            n_segments += len(hyp)
            compute_s += rec.compute_s
            audio_s += duration
            if ref is not None:
                counts = frame_counts(ref, hyp, duration, opts.frame_s)
                pooled = pooled + counts
                n_scored += 1
                scored_s += duration
                ref_speech += speech_duration(ref)
                errors = boundary_errors(ref, hyp)
                boundaries += errors
                row.update(
                    ref_speech_ratio=speech_duration(ref) / duration if duration > 0 else 0.0,
                    n_ref_segments=len(ref),
                    precision=counts.precision,
                    recall=counts.recall,
                    f1=counts.f1,
                    detection_error_rate=counts.detection_error_rate,
                    boundary_error_s=float(np.mean(errors)) if errors else None,
                )
            quiet = rec.level_dbfs is not None and rec.level_dbfs < opts.gates.silence_dbfs
            expect_silence = (ref is not None and not ref) or (ref is None and quiet)
            if expect_silence:
                silence_ratios.append(ratio)
            gates = vad_gates(hyp, duration, expect_silence, opts.gates)
            row.update(gates)
            row["gates_passed"] = all(v for v in gates.values() if v is not None)
            gate_results.append(row["gates_passed"])
            rows.append(row)

        metrics = [
            Metric("precision", pooled.precision, True),
            Metric("recall", pooled.recall, True),
            Metric("f1", pooled.f1, True),
            Metric("detection_error_rate", pooled.detection_error_rate, False),
            Metric("miss_rate", pooled.miss_rate, False),
            Metric("false_alarm_rate", pooled.false_alarm_rate, False),
            Metric("boundary_error_s", float(np.mean(boundaries)) if boundaries else None, False),
            Metric("speech_ratio", hyp_speech / total_s if total_s else None, None),
            Metric("ref_speech_ratio", ref_speech / scored_s if scored_s else None, None),
            Metric("n_segments", float(n_segments), None),
            Metric("segments_per_min", n_segments / (total_s / 60.0) if total_s else None, None),
            Metric("silence_speech_ratio", float(np.mean(silence_ratios)) if silence_ratios else None, False),
            Metric("gate_pass_rate", float(np.mean(gate_results)) if gate_results else None, True),
            Metric(
                "ms_per_30ms_frame", 1000.0 * compute_s / (audio_s / 0.03) if audio_s and compute_s else None, False
            ),
            Metric("n_scored_files", float(n_scored), None),
        ]
        summary = ""
        if pooled.f1 is not None:
            summary = f"F1 {pooled.f1:.3f}  DetER {100 * (pooled.detection_error_rate or 0):.1f}%"
        elif gate_results:
            summary = f"gates passed {sum(gate_results)}/{len(gate_results)} (no references)"
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        segments = (record.output or {}).get("segments", [])
        return "\n".join(f"[{s['start']:8.3f} --> {s['end']:8.3f}] speech" for s in segments) or "(no speech)"
