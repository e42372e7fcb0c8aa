"""Voice-to-voice (experimental): per-stage and end-to-end latency, ASR-stage and round-trip WER,
and audio health of the spoken output.

The runner times the whole cascade call (end-to-end latency; RTF is against the *input* audio);
the model reports each stage's seconds. Scoring transcribes the kept output wav with the
configured ASR model: against the input's reference transcript (end-to-end round-trip WER, only
without a translation stage) and against the text the TTS stage was given (TTS intelligibility).
The quality predictors (:mod:`modellab.metrics.quality`) judge the spoken output as for TTS;
``speaker_similarity`` compares its voice with the input speaker's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellab.metrics.audio_health import HealthGates, HealthOptions, health_gates, measure_health
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.quality import QualityOptions
from modellab.metrics.round_trip import IntelligibilityOptions, pooled_rates, score_round_trip
from modellab.models.cascade import V2VResult, VoiceToVoiceModel
from modellab.models.compose import RoundTripASR
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.tts import SpokenOutput, aggregate_health, check_intelligibility_options, with_quality
from modellab.types import Sample

__all__ = ["V2VOptions", "V2VTask"]


@dataclass
class V2VOptions:
    """Values come from conf/task/v2v.yaml."""

    health: HealthOptions
    gates: HealthGates
    intelligibility: IntelligibilityOptions
    quality: QualityOptions = field(default_factory=QualityOptions)  # default: configs stored before it


class V2VTask(SpokenOutput, Task):
    model_type = VoiceToVoiceModel
    Options = V2VOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_intelligibility_options(self.options.intelligibility, f"conf/task/{self.name}.yaml")
        self.check_quality(self.name)
        i = self.options.intelligibility
        self.asr = RoundTripASR(i.asr_model, i.device) if i.asr_model else None

    def to_record(self, output: V2VResult, sample: Sample) -> dict[str, Any]:
        health = measure_health(output.audio.samples, output.audio.sample_rate, self.options.health)
        record = {
            "transcript": output.transcript,
            "translation": output.translation,
            "tts_text": output.tts_text,
            "stages_s": output.stages_s,
            "first_audio_s": output.first_audio_s,
            "output_duration_s": output.audio.duration_s,
            "sample_rate": output.audio.sample_rate,
            "health": health.as_dict(),
        }
        return with_quality(record, self.quality_record(output.audio, sample))

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        i = self.options.intelligibility
        norms = i.normalizers
        rows: list[dict[str, Any]] = []
        healths: list[dict[str, Any]] = []
        gate_rows: list[dict[str, Any]] = []
        asr_scores, e2e_scores, tts_scores = [], [], []
        stage_s: dict[str, list[float]] = {}
        first_audio: list[float] = []
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text}
            rows.append(row)
            if rec.error is not None or rec.output is None:
                row["hypothesis"] = None
                continue
            out = rec.output
            h = out["health"]
            healths.append(h)
            for stage, seconds in (out.get("stages_s") or {}).items():
                stage_s.setdefault(stage, []).append(float(seconds))
                row[stage] = seconds
            if out.get("first_audio_s") is not None:
                first_audio.append(float(out["first_audio_s"]))
            gates = health_gates(h, self.options.gates)
            row.update(
                transcript=out["transcript"],
                translation=out.get("translation"),
                tts_text=out["tts_text"],
                first_audio_s=out.get("first_audio_s"),
                output_duration_s=h["duration_s"],
                lufs=h["lufs"],
                clipping_ratio=h["clipping_ratio"],
                leading_silence_s=h["leading_silence_s"],
                trailing_silence_s=h["trailing_silence_s"],
                **gates,
            )
            row["gates_passed"] = all(v for v in gates.values() if v is not None)
            gate_rows.append(row)
            reference = rec.sample.text
            if reference and get_normalizer("basic")(reference):
                asr = score_round_trip(reference, out["transcript"], norms)
                asr_scores.append(asr)
                row["asr_wer"] = asr.words[i.primary_normalizer].rate
            if self.asr is None:
                row["hypothesis"] = None
                continue
            heard = self.transcribe_artifact(rec.artifact) if h["n_samples"] else ""
            row["hypothesis"] = heard
            if out["tts_text"]:
                tts = score_round_trip(out["tts_text"], heard, norms)
                tts_scores.append(tts)
                row["tts_wer"] = tts.words[i.primary_normalizer].rate
            if reference and out.get("translation") is None and get_normalizer("basic")(reference):
                e2e = score_round_trip(reference, heard, norms)
                e2e_scores.append(e2e)
                row.update(wer=e2e.words[i.primary_normalizer].rate, cer=e2e.chars[i.primary_normalizer].rate)

        metrics = aggregate_health(healths, gate_rows) + self.quality_metrics(records, rows)
        for stage, values in sorted(stage_s.items()):
            metrics.append(Metric(f"{stage.removesuffix('_s')}_s_mean", float(np.mean(values)), False))
        ok_compute = [r.compute_s for r in records if r.error is None]
        if ok_compute:
            metrics.append(Metric("end_to_end_s_mean", float(np.mean(ok_compute)), False))
        if first_audio:
            metrics.append(Metric("time_to_first_audio_s", float(np.mean(first_audio)), False))
        summary = []
        if e2e_scores:
            wer, cer = pooled_rates(e2e_scores, i.primary_normalizer)
            metrics += [Metric("wer", wer, False), Metric("cer", cer, False)]
            summary.append(f"round-trip WER {100 * wer:.2f}%")
        if asr_scores:
            asr_wer = pooled_rates(asr_scores, i.primary_normalizer)[0]
            metrics.append(Metric("asr_wer", asr_wer, False))
            summary.append(f"ASR-stage WER {100 * asr_wer:.2f}%")
        if tts_scores:
            metrics.append(Metric("tts_wer", pooled_rates(tts_scores, i.primary_normalizer)[0], False))
        if ok_compute:
            summary.append(f"end-to-end {np.mean(ok_compute):.2f}s/utterance")
        return Scores(samples=rows, metrics=[m for m in metrics if m.value is not None], summary=", ".join(summary))

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        out = record.output or {}
        return f"heard: {out.get('transcript')!r} -> said: {out.get('tts_text')!r} -> {record.artifact}"
