"""TTS: synthesis speed (RTF/RTFx, time to first audio), audio health gates and round-trip intelligibility.

Inputs are prompt texts (no audio). The timed call synthesises one prompt, through the model's
``stream()`` when it has one (so time to first audio is measured) and ``predict()`` otherwise.
Each output is kept as ``artifacts/<run_id>/audio/<sample_id>.wav`` (the ``artifact`` column of
``samples``); health is measured on the raw float samples before the file is written; scoring
transcribes the kept file with a configured ASR model and reports WER/CER against the prompt.
Quality predictors (DNSMOS, DistillMOS, speaker d-vectors; :mod:`modellab.metrics.quality`) judge
the raw samples too, once per output, outside the timed call; scoring pools them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellab.audio import load_audio
from modellab.config.schema import ConfigError
from modellab.metrics.audio_health import HealthGates, HealthOptions, health_gates, measure_health
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.quality import (
    PREDICTORS,
    QualityOptions,
    assess_quality,
    check_quality_options,
    missing_requirements,
    pooled_quality,
    speaker_consistency,
)
from modellab.metrics.round_trip import IntelligibilityOptions, RoundTripScore, pooled_rates, score_round_trip
from modellab.metrics.wer import pooled
from modellab.models.base import MissingExtraError, TTSModel
from modellab.models.compose import RoundTripASR, StreamingSynthesizer, Synthesis, synthesize
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.types import Audio, Sample

__all__ = [
    "SpokenOutput",
    "StreamingSynthesizer",
    "Synthesis",
    "TTSGates",
    "TTSOptions",
    "TTSTask",
    "aggregate_health",
    "check_intelligibility_options",
    "save_wav",
    "speaker_reference",
    "synthesize",
    "wav_name",
    "with_quality",
]


@dataclass
class TTSGates(HealthGates):
    min_words_per_s: float  # slower than this is broken (stretched or stuttering output)
    max_words_per_s: float  # faster than anyone speaks


@dataclass
class TTSOptions:
    """Values come from conf/task/tts.yaml."""

    streaming: bool  # use a model's stream() where it has one
    health: HealthOptions
    gates: TTSGates
    intelligibility: IntelligibilityOptions
    quality: QualityOptions = field(default_factory=QualityOptions)  # default: configs stored before it


def save_wav(audio: Audio, path: Path) -> Path:
    """Write 16-bit PCM for listening (NaN/inf -> 0, clipped to [-1, 1]); health is measured before this."""
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.nan_to_num(np.asarray(audio.samples, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    soundfile.write(str(path), np.clip(samples, -1.0, 1.0), audio.sample_rate, subtype="PCM_16")
    return path


def wav_name(sample_id: str) -> str:
    """A file name for a sample id (anything but letters, digits, ._- becomes _)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", sample_id) or "sample"


def check_intelligibility_options(opts: IntelligibilityOptions, where: str) -> None:
    for name in opts.normalizers:
        get_normalizer(name)
    if opts.primary_normalizer not in opts.normalizers:
        raise ConfigError(
            f"{where}: intelligibility.primary_normalizer '{opts.primary_normalizer}' "
            f"is not in intelligibility.normalizers {opts.normalizers}"
        )


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def aggregate_health(healths: list[dict[str, Any]], gate_rows: list[dict[str, Any]]) -> list[Metric]:
    """Run-level health metrics from per-sample measurements and gate results."""
    if not healths:
        return []
    lufs = [h["lufs"] for h in healths if h.get("lufs") is not None]
    lead = [h["leading_silence_s"] for h in healths if h.get("leading_silence_s") is not None]
    trail = [h["trailing_silence_s"] for h in healths if h.get("trailing_silence_s") is not None]
    internal = [h["max_internal_silence_s"] for h in healths if h.get("max_internal_silence_s") is not None]
    passed = [bool(r["gates_passed"]) for r in gate_rows]
    return [
        Metric("gate_pass_rate", float(np.mean(passed)), True),
        Metric("empty_output_rate", float(np.mean([not r["gate_empty_output"] for r in gate_rows])), False),
        Metric("non_finite_samples", float(sum(h["non_finite"] for h in healths)), False),
        Metric("clipping_ratio", float(np.mean([h["clipping_ratio"] for h in healths])), False),
        Metric("dc_offset_max_abs", float(max(abs(h["dc_offset"]) for h in healths)), False),
        Metric("lufs_mean", _mean(lufs), None),
        Metric("lufs_std", float(np.std(lufs)) if len(lufs) > 1 else None, False),
        Metric("leading_silence_s_mean", _mean(lead), False),
        Metric("trailing_silence_s_mean", _mean(trail), False),
        Metric("max_internal_silence_s", max(internal) if internal else None, False),
        Metric("output_duration_s_mean", float(np.mean([h["duration_s"] for h in healths])), None),
    ]


class SpokenOutput:
    """Shared by tasks whose output is speech (TTS, voice-to-voice): keep the wav, record the
    intelligibility normaliser and ASR model, transcribe the kept wav for round-trip WER, and judge
    each output with the quality predictors. Expects ``self.options.intelligibility``,
    ``self.options.quality`` and ``self.asr``."""

    options: Any
    asr: Any

    def save_artifact(self, output: Any, sample: Sample, folder: Any) -> str | None:
        return str(save_wav(output.audio, Path(folder) / "audio" / f"{wav_name(sample.sample_id)}.wav"))

    def metadata(self) -> dict[str, Any]:
        i = self.options.intelligibility
        norm = get_normalizer(i.primary_normalizer)
        meta = {"normalizer": norm.name, "normalizer_version": norm.version, "intelligibility_asr": i.asr_model}
        if self.options.quality.predictors:
            meta["quality_predictors"] = ", ".join(self.options.quality.predictors)
        return meta

    def check_quality(self, name: str) -> None:
        """Unknown predictor names are a config error (when the task is built)."""
        check_quality_options(self.options.quality, f"conf/task/{name}.yaml options")

    def check_model(self, model: Any) -> None:
        """The task's checks, then the quality predictors' extra: refused before anything loads."""
        super().check_model(model)  # type: ignore[misc]  # Task's, next in the MRO of TTSTask / V2VTask
        missing = missing_requirements(self.options.quality)
        if missing:
            raise MissingExtraError(f"task '{getattr(self, 'name', '?')}': {missing}")

    def quality_record(self, audio: Audio, sample: Sample) -> dict[str, Any] | None:
        """The quality predictors on one raw output (None when none is configured)."""
        names = self.options.quality.predictors
        if not names:
            return None
        return assess_quality(audio, self.options.quality, speaker_reference(sample) if "speaker" in names else None)

    def quality_metrics(self, records: list[SampleRecord], rows: list[dict[str, Any]]) -> list[Metric]:
        """Adds the quality columns to ``rows`` (aligned with ``records``; None where a sample failed
        or has no value) and returns their run means (higher is better)."""
        columns = [c for name in self.options.quality.predictors for c in PREDICTORS[name].columns]
        if not columns:
            return []
        found = [(rec.output or {}).get("quality") or {} for rec in records]
        for row, quality in zip(rows, found, strict=True):
            row.update({c: quality.get(c) for c in columns})
        if "speaker_consistency" in columns:
            consistency = speaker_consistency([q.get("speaker_embedding") for q in found])
            for row, value in zip(rows, consistency, strict=True):
                row["speaker_consistency"] = value
        return [Metric(name, value, True) for name, value in pooled_quality(rows).items()]

    def transcribe_artifact(self, path: str | None) -> str:
        assert self.asr is not None
        if not path or not Path(path).exists():
            raise FileNotFoundError(f"generated audio {path} is missing: cannot score intelligibility")
        return self.asr.transcribe(load_audio(path, use_cache=False))


def with_quality(record: dict[str, Any], quality: dict[str, Any] | None) -> dict[str, Any]:
    """``record`` with its ``quality`` entry when the predictors ran (raw outputs stay as before otherwise)."""
    return record if quality is None else {**record, "quality": quality}


def speaker_reference(sample: Sample) -> Audio | None:
    """The recording an output's voice is compared with: ``extra.speaker_reference`` (a path) or the
    sample's own audio (a voice-to-voice input; its ``offset_s``/``duration_s`` span), else None."""
    path = sample.extra.get("speaker_reference") or sample.audio_path
    if not path:
        return None
    audio = load_audio(path)
    if path != sample.audio_path or not (sample.offset_s or sample.duration_s):
        return audio
    start = int(round(sample.offset_s * audio.sample_rate))
    stop = None if sample.duration_s is None else start + int(round(sample.duration_s * audio.sample_rate))
    return Audio(audio.samples[start:stop], audio.sample_rate)


class TTSTask(SpokenOutput, Task):
    model_type = TTSModel
    Options = TTSOptions
    needs_audio = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_intelligibility_options(self.options.intelligibility, f"conf/task/{self.name}.yaml")
        self.check_quality(self.name)
        i = self.options.intelligibility
        self.asr = RoundTripASR(i.asr_model, i.device) if i.asr_model else None

    def inputs(self, sample: Sample, audio: Audio | None) -> str:
        if not sample.text or not sample.text.strip():
            raise ValueError(f"sample '{sample.sample_id}' has no prompt text to synthesise")
        return sample.text

    def predict(self, model: Any, inputs: str, sample: Sample) -> Synthesis:
        return synthesize(model, inputs, self.options.streaming)

    def to_record(self, output: Synthesis, sample: Sample) -> dict[str, Any]:
        health = measure_health(output.audio.samples, output.audio.sample_rate, self.options.health)
        record = {
            "duration_s": output.audio.duration_s,
            "sample_rate": output.audio.sample_rate,
            "chunks": output.chunks,
            "first_audio_s": output.first_audio_s,
            "health": health.as_dict(),
        }
        return with_quality(record, self.quality_record(output.audio, sample))

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        opts = self.options
        i = opts.intelligibility
        rows: list[dict[str, Any]] = []
        healths: list[dict[str, Any]] = []
        gate_rows: list[dict[str, Any]] = []
        round_trips: list[RoundTripScore] = []
        ttfa: list[float] = []
        words_total, speech_total = 0, 0.0
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text, "category": rec.sample.extra.get("category")}
            rows.append(row)
            if rec.error is not None or rec.output is None:
                row["hypothesis"] = None
                continue
            out = rec.output
            h = out["health"]
            healths.append(h)
            n_words = len((rec.sample.text or "").split())
            rate = n_words / h["speech_s"] if h["speech_s"] > 0 else None
            if rate is not None:
                words_total += n_words
                speech_total += h["speech_s"]
            if out.get("first_audio_s") is not None:
                ttfa.append(float(out["first_audio_s"]))
            gates = health_gates(h, opts.gates)
            gates["gate_speaking_rate"] = (
                None if rate is None else opts.gates.min_words_per_s <= rate <= opts.gates.max_words_per_s
            )
            row.update(
                output_duration_s=h["duration_s"],
                speech_s=h["speech_s"],
                speaking_rate_wps=rate,
                first_audio_s=out.get("first_audio_s"),
                lufs=h["lufs"],
                peak=h["peak"],
                clipping_ratio=h["clipping_ratio"],
                dc_offset=h["dc_offset"],
                leading_silence_s=h["leading_silence_s"],
                trailing_silence_s=h["trailing_silence_s"],
                max_internal_silence_s=h["max_internal_silence_s"],
                non_finite=h["non_finite"],
                **gates,
            )
            row["gates_passed"] = all(v for v in gates.values() if v is not None)
            gate_rows.append(row)
            if self.asr is not None:
                hyp = self.transcribe_artifact(rec.artifact) if h["n_samples"] else ""
                rt = score_round_trip(rec.sample.text or "", hyp, i.normalizers)
                round_trips.append(rt)
                primary_w, primary_c = rt.words[i.primary_normalizer], rt.chars[i.primary_normalizer]
                row.update(hypothesis=hyp, wer=primary_w.rate, cer=primary_c.rate, ref_words=primary_w.ref_len)
                row.update({f"wer_{n}": rt.words[n].rate for n in i.normalizers})
            else:
                row["hypothesis"] = None

        metrics = aggregate_health(healths, gate_rows)
        ok_compute = [r.compute_s for r in records if r.error is None]
        metrics += [
            Metric("synthesis_s_mean", _mean(ok_compute), False),
            Metric("speaking_rate_wps", words_total / speech_total if speech_total else None, None),
            Metric("time_to_first_audio_s", _mean(ttfa), False),
            Metric("time_to_first_audio_max_s", max(ttfa) if ttfa else None, False),
        ]
        metrics += self.quality_metrics(records, rows)
        summary = ""
        if round_trips:
            wer, cer = pooled_rates(round_trips, i.primary_normalizer)
            metrics += [Metric("wer", wer, False), Metric("cer", cer, False)]
            metrics += [Metric(f"wer_{n}", pooled_rates(round_trips, n)[0], False) for n in i.normalizers]
            ref_words = pooled([rt.words[i.primary_normalizer] for rt in round_trips]).ref_len
            metrics.append(Metric("ref_words", float(ref_words), None))
            summary = f"round-trip WER {100 * wer:.2f}% CER {100 * cer:.2f}% ({i.asr_model}), "
        if gate_rows:
            summary += f"gates passed {sum(bool(r['gates_passed']) for r in gate_rows)}/{len(gate_rows)}"
        return Scores(samples=rows, metrics=[m for m in metrics if m.value is not None], summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        out = record.output or {}
        return f"{out.get('duration_s', 0.0):.2f} s of audio -> {record.artifact}"
