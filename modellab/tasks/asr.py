"""ASR: pooled and per-sample WER/CER under named normalisers, speed, and sanity gates."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.wer import char_errors, pooled, word_errors
from modellab.models.base import ASRModel
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.longform import LongFormOptions, transcribe_in_windows
from modellab.types import Sample, Transcript

__all__ = ["ASRTask", "ASROptions", "GateOptions", "transcript_gates", "max_ngram_repeats"]


@dataclass
class GateOptions:
    """Sanity gates; each gives pass/fail per sample. They need no reference (smoke sets too)."""

    min_length_ratio: float
    max_length_ratio: float
    max_words_per_s: float
    max_ngram_repeats: int
    ngram: int
    silence_dbfs: float


@dataclass
class ASROptions:
    """Values come from conf/task/asr.yaml (defaults live once, in YAML)."""

    normalizers: list[str]
    primary_normalizer: str
    gates: GateOptions
    long_form: LongFormOptions


def max_ngram_repeats(words: list[str], n: int) -> int:
    """How often the most frequent n-gram occurs (a repetition-loop detector)."""
    if len(words) < n:
        return 0
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return max(counts.values())


def transcript_gates(
    hypothesis: str, reference: str | None, duration_s: float, dbfs: float, g: GateOptions
) -> dict[str, bool | None]:
    """Gate name -> passed (None = not applicable)."""
    hyp = hypothesis.split()
    ref = reference.split() if reference else []
    silent = dbfs < g.silence_dbfs
    gates: dict[str, bool | None] = {
        "gate_empty_output": (len(hyp) == 0) if silent else (len(hyp) > 0),
        "gate_words_per_s": (len(hyp) / duration_s <= g.max_words_per_s) if duration_s > 0 else None,
        "gate_repetition": max_ngram_repeats([w.lower() for w in hyp], g.ngram) <= g.max_ngram_repeats,
        "gate_length_ratio": None,
    }
    if ref:
        ratio = len(hyp) / len(ref)
        gates["gate_length_ratio"] = g.min_length_ratio <= ratio <= g.max_length_ratio
    return gates


class ASRTask(Task):
    model_type = ASRModel
    Options = ASROptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.options.normalizers:
            get_normalizer(name)
        if self.options.primary_normalizer not in self.options.normalizers:
            raise ValueError(
                f"conf/task/{self.name}.yaml: primary_normalizer '{self.options.primary_normalizer}' "
                f"is not in normalizers {self.options.normalizers}"
            )

    def predict(self, model: Any, inputs: Any, sample: Sample) -> Transcript:
        return transcribe_in_windows(model, inputs, self.options.long_form)

    def predict_batch(self, model: Any, inputs: list[Any], samples: list[Sample]) -> list[Transcript]:
        """Inputs that fit one long-form window go to ``model.predict_batch`` together; longer
        ones are windowed one by one (their windows are not batched across files)."""
        window = self.options.long_form.window_s
        fits = [i for i, audio in enumerate(inputs) if not window or audio.duration_s <= window]
        outputs: dict[int, Transcript] = dict(zip(fits, model.predict_batch([inputs[i] for i in fits])))
        return [
            outputs[i] if i in outputs else self.predict(model, a, s) for i, (a, s) in enumerate(zip(inputs, samples))
        ]

    def to_record(self, output: Transcript, sample: Sample) -> dict[str, Any]:
        return {
            "text": output.text,
            "segments": output.segments,
            "words": [asdict(w) for w in output.words],
            "language": output.language,
        }

    def metadata(self) -> dict[str, Any]:
        norm = get_normalizer(self.options.primary_normalizer)
        return {"normalizer": norm.name, "normalizer_version": norm.version}

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        opts = self.options
        rows: list[dict[str, Any]] = []
        per_norm: dict[str, list] = {n: [] for n in opts.normalizers}
        per_norm_cer: dict[str, list] = {n: [] for n in opts.normalizers}
        excluded_empty_ref = 0
        failed_as_empty: list = []  # failed samples scored as empty hypotheses (all deletions)
        gate_results: list[bool] = []
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text}
            if rec.error is not None or rec.output is None:
                row["hypothesis"] = None
                if rec.sample.text and get_normalizer("basic")(rec.sample.text):
                    norm = get_normalizer(opts.primary_normalizer)
                    failed_as_empty.append(word_errors(norm(rec.sample.text), ""))
                rows.append(row)
                continue
            hyp = rec.output.get("text", "") or ""
            row["hypothesis"] = hyp
            ref = rec.sample.text
            if ref is not None and not get_normalizer("basic")(ref):
                excluded_empty_ref += 1
                ref = None
            for name in opts.normalizers:
                norm = get_normalizer(name)
                if ref is None:
                    continue
                w = word_errors(norm(ref), norm(hyp))
                c = char_errors(norm(ref), norm(hyp))
                per_norm[name].append(w)
                per_norm_cer[name].append(c)
                row[f"wer_{name}"] = w.rate
                if name == opts.primary_normalizer:
                    row.update(
                        wer=w.rate,
                        cer=c.rate,
                        substitutions=w.substitutions,
                        deletions=w.deletions,
                        insertions=w.insertions,
                        ref_words=w.ref_len,
                    )
            gates = transcript_gates(
                hyp, ref, rec.audio_s, rec.level_dbfs if rec.level_dbfs is not None else 0.0, opts.gates
            )
            row.update(gates)
            applicable = [v for v in gates.values() if v is not None]
            row["gates_passed"] = all(applicable)
            gate_results.append(row["gates_passed"])
            rows.append(row)

        metrics: list[Metric] = []
        primary = pooled(per_norm[opts.primary_normalizer])
        if primary.ref_len:
            primary_cer = pooled(per_norm_cer[opts.primary_normalizer])
            metrics += [
                Metric("wer", primary.rate, False),
                Metric("cer", primary_cer.rate, False),
                Metric("substitution_rate", primary.substitutions / primary.ref_len, False),
                Metric("deletion_rate", primary.deletions / primary.ref_len, False),
                Metric("insertion_rate", primary.insertions / primary.ref_len, False),
                Metric("ref_words", float(primary.ref_len), None),
            ]
            rates = []
            for name in opts.normalizers:
                rate = pooled(per_norm[name]).rate
                rates.append(rate)
                metrics.append(Metric(f"wer_{name}", rate, False))
            metrics.append(Metric("wer_normalizer_spread", max(rates) - min(rates), False))
        if failed_as_empty:
            # A failure is never a perfect score: this WER counts failed samples as all-deletions.
            metrics.append(
                Metric("wer_incl_failed", pooled(per_norm[opts.primary_normalizer] + failed_as_empty).rate, False)
            )
        metrics.append(Metric("n_ref_excluded_empty", float(excluded_empty_ref), None))
        if gate_results:
            metrics.append(Metric("gate_pass_rate", float(np.mean(gate_results)), True))
        summary = ""
        if primary.ref_len:
            summary = (
                f"WER {100 * primary.rate:.2f}%  CER {100 * pooled(per_norm_cer[opts.primary_normalizer]).rate:.2f}%"
            )
        elif gate_results:
            summary = f"gates passed {sum(gate_results)}/{len(gate_results)} (no references)"
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        out = record.output or {}
        lines = []
        for seg in out.get("segments") or []:
            lines.append(f"[{_ts(seg['start'])} --> {_ts(seg['end'])}] {seg['text'].strip()}")
        return "\n".join(lines) if lines else out.get("text", "")


def _ts(seconds: float) -> str:
    m, s = divmod(float(seconds), 60.0)
    h, m = divmod(int(m), 60)
    return f"{h:02d}:{m:02d}:{s:06.3f}"
