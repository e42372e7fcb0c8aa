"""Streaming ASR: an offline ASR model driven by a streaming policy on a simulated real-time clock.

Each sample is fed in ``chunk_s`` chunks at real-time pace through the policy (see
:mod:`modellab.tasks.streaming_policy`); every partial and the final hypothesis are recorded with
their wall-clock times. Scored: final WER (pooled), first-partial latency (from the start of
speech), finalisation latency (from the end of speech until every final word is committed),
partial lag, and partial stability (how often shown words are revised). The runner's ``rtf`` of
this task is the streaming cost: all decode calls of a stream ÷ its audio duration.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modellab.config.schema import ConfigError
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.streaming import (
    finalisation_latency,
    first_partial_latency,
    partial_lag,
    revisions,
    speech_bounds,
)
from modellab.metrics.wer import char_errors, pooled, word_errors
from modellab.models.base import ASRModel, Model
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.model_options import apply_model_options
from modellab.tasks.streaming_policy import LocalAgreement, StreamingPolicy, StreamResult, VadEndpoint
from modellab.types import Audio, Sample

__all__ = [
    "LocalAgreementOptions",
    "POLICIES",
    "StreamInput",
    "StreamingASRTask",
    "StreamingOptions",
    "VadEndpointOptions",
]

POLICIES: dict[str, type[StreamingPolicy]] = {"local_agreement": LocalAgreement, "vad_endpoint": VadEndpoint}


@dataclass
class LocalAgreementOptions:
    overlap_tolerance_s: float  # re-decoded words starting this much before the last committed end are old


@dataclass
class VadEndpointOptions:
    silence_dbfs: float  # energy VAD: a frame below this RMS level is silence
    min_silence_s: float  # trailing silence that ends (and commits) an utterance
    frame_s: float  # energy VAD frame length


@dataclass
class StreamingOptions:
    """Values come from conf/task/streaming_asr.yaml."""

    policy: str  # one of POLICIES
    chunk_s: float  # audio per chunk; chunks arrive at real-time pace
    max_buffer_s: float  # local_agreement: cut the buffer at the last committed word; vad_endpoint: force an endpoint
    local_agreement: LocalAgreementOptions
    vad_endpoint: VadEndpointOptions
    normalizer: str  # final WER/CER under this normaliser
    speech_frame_s: float  # energy speech detector (speech start/end for the latencies): frame length
    speech_threshold_db: float  # frames within this of the loudest frame are speech
    model_options: dict[str, Any]  # set on the model's options where its adapter has them


@dataclass
class StreamInput:
    audio: Audio
    speech: tuple[float, float] | None  # (start, end) of speech in seconds, from the energy detector


class StreamingASRTask(Task):
    model_type = ASRModel
    Options = StreamingOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options.policy not in POLICIES:
            raise ConfigError(
                f"conf/task/{self.name}.yaml: unknown streaming policy '{self.options.policy}'; valid: {sorted(POLICIES)}"
            )
        if self.options.chunk_s <= 0:
            raise ConfigError(f"conf/task/{self.name}.yaml: chunk_s must be positive, got {self.options.chunk_s}")
        self.normalize = get_normalizer(self.options.normalizer)

    def check_model(self, model: Model) -> None:
        super().check_model(model)
        apply_model_options(model, self.options.model_options)

    def identity(self) -> dict[str, Any]:
        """Also the policy's source: it shapes the outputs, so a change to it must recompute cached cells."""
        source = Path(inspect.getfile(POLICIES[self.options.policy])).read_bytes()
        return {**super().identity(), "policy_source": hashlib.sha256(source).hexdigest()[:12]}

    def policy(self, model: Any) -> StreamingPolicy:
        """A fresh policy for one stream, with the chosen policy's own options."""
        o = self.options
        specific = asdict(getattr(o, o.policy))
        return POLICIES[o.policy](chunk_s=o.chunk_s, max_buffer_s=o.max_buffer_s, decode=model.predict, **specific)

    def inputs(self, sample: Sample, audio: Audio | None) -> StreamInput:
        assert audio is not None
        o = self.options
        return StreamInput(
            audio, speech_bounds(audio.samples, audio.sample_rate, o.speech_frame_s, o.speech_threshold_db)
        )

    def predict(self, model: Any, inputs: StreamInput, sample: Sample) -> tuple[StreamResult, StreamInput]:
        return self.policy(model).run(inputs.audio), inputs

    def to_record(self, output: tuple[StreamResult, StreamInput], sample: Sample) -> dict[str, Any]:
        result, inputs = output
        return {
            "text": result.text,
            "words": [asdict(w) for w in result.words],
            "events": [asdict(e) for e in result.events],
            "decodes": result.decodes,
            "decode_s": result.decode_s,
            "speech_start_s": inputs.speech[0] if inputs.speech else None,
            "speech_end_s": inputs.speech[1] if inputs.speech else None,
        }

    def metadata(self) -> dict[str, Any]:
        return {"normalizer": self.normalize.name, "normalizer_version": self.normalize.version}

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        rows: list[dict[str, Any]] = []
        word_counts, char_counts = [], []
        firsts: list[float] = []
        finals: list[float] = []
        lags: list[float] = []
        decodes: list[int] = []
        emitted = revised = 0
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text, "hypothesis": None}
            out = rec.output
            if rec.error is None and out is not None:
                row["hypothesis"] = out["text"]
                events = out["events"]
                partial_texts = [e["text"] for e in events if not e.get("final")]
                rev = revisions(partial_texts + [out["text"]])
                emitted, revised = emitted + rev.emitted, revised + rev.revised
                row.update(
                    partials=len(partial_texts),
                    decodes=out["decodes"],
                    partial_revision_rate=rev.rate,
                    partial_lag_s=partial_lag(events),
                )
                if out.get("speech_start_s") is not None:
                    row["first_partial_latency_s"] = first_partial_latency(events, out["speech_start_s"])
                    row["finalisation_latency_s"] = finalisation_latency(events, out["speech_end_s"])
                if rec.sample.text and self.normalize(rec.sample.text):
                    w = word_errors(self.normalize(rec.sample.text), self.normalize(out["text"]))
                    c = char_errors(self.normalize(rec.sample.text), self.normalize(out["text"]))
                    word_counts.append(w)
                    char_counts.append(c)
                    row.update(wer=w.rate, cer=c.rate)
                for values, key in ((firsts, "first_partial_latency_s"), (finals, "finalisation_latency_s")):
                    if row.get(key) is not None:
                        values.append(row[key])
                if row["partial_lag_s"] is not None:
                    lags.append(row["partial_lag_s"])
                decodes.append(out["decodes"])
            rows.append(row)

        metrics: list[Metric] = []
        total = pooled(word_counts)
        if total.ref_len:
            metrics += [Metric("wer", total.rate, False), Metric("cer", pooled(char_counts).rate, False)]
        for name, values in (
            ("first_partial_latency_s", firsts),
            ("finalisation_latency_s", finals),
            ("partial_lag_s", lags),
        ):
            if values:
                metrics.append(Metric(name, float(np.mean(values)), False, "s"))
                metrics.append(Metric(f"{name.removesuffix('_s')}_p90_s", float(np.percentile(values, 90)), False, "s"))
        if emitted:
            metrics.append(Metric("partial_revision_rate", revised / emitted, False))
        if decodes:
            metrics.append(Metric("decodes_per_sample", float(np.mean(decodes)), None))
        summary = ", ".join(
            part
            for part in (
                f"WER {100 * total.rate:.2f}%" if total.ref_len else "",
                f"first partial {np.mean(firsts):.2f}s" if firsts else "",
                f"finalised {np.mean(finals):.2f}s after speech" if finals else "",
                f"revisions {100 * revised / emitted:.1f}%" if emitted else "",
            )
            if part
        )
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        lines = []
        for e in (record.output or {}).get("events", []):
            words = e["text"].split()
            done, pending = " ".join(words[: e["committed"]]), " ".join(words[e["committed"] :])
            tag = "final" if e.get("final") else f"audio {e['audio_s']:.2f}s"
            lines.append(f"t={e['t']:7.2f}s [{tag}] {done}" + (f" | {pending}" if pending else ""))
        return "\n".join(lines)
