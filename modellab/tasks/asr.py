"""ASR: pooled and per-sample WER/CER under named normalisers, speed, and sanity gates.

Languages: each sample's ``language`` reaches the model (adapters with ``set_spoken_language``, used by
``model.options.language: from_sample``); a model whose ``info.languages`` does not cover the dataset's
languages, or that forces another language, is refused before it loads; a run whose samples are not all
English is scored under ``other_language_normalizer`` (``whisper_en`` is English-only) and its run row
records ``language`` and the normaliser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from modellab.datasets.base import Dataset, DatasetError
from modellab.metrics.hallucination import (
    SOUND_WORDS,
    count_nonspeech,
    has_repetition_loop,
    max_ngram_repeats,
    words_per_minute,
)
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.wer import char_errors, pooled, word_errors
from modellab.models.base import ASRModel, Model
from modellab.tasks.base import CapabilityError, Metric, SampleRecord, Scores, Task
from modellab.tasks.longform import LongFormOptions, transcribe_in_windows
from modellab.types import Sample, Transcript

__all__ = [
    "ASRTask",
    "ASROptions",
    "ENGLISH_ONLY_NORMALIZERS",
    "GateOptions",
    "NONSPEECH_KIND",
    "dataset_languages",
    "hallucination_metrics",
    "is_nonspeech",
    "transcript_gates",
    "max_ngram_repeats",
]

ENGLISH = "en"
ENGLISH_ONLY_NORMALIZERS = frozenset({"whisper_en"})  # dropped from the normalisers of a non-English run
_NOT_FORCED = (None, "auto", "from_sample")  # model.options.language values that force no language
NONSPEECH_KIND = "nonspeech"  # a dataset kind: samples without speech (silence, tones, noise), no references


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
    primary_normalizer: str  # of a run whose samples are all English
    gates: GateOptions
    long_form: LongFormOptions
    # the primary normaliser of a run with samples in other languages (whisper_en is English-only); a
    # default here, not in conf/task/asr.yaml, so English runs keep their stored task options
    other_language_normalizer: str = "whisper_basic"


def dataset_languages(dataset: Dataset) -> tuple[str, ...]:
    """The dataset's declared language plus its samples' own (read when it is built), sorted."""
    languages = {dataset.language}
    if dataset.is_built():
        try:
            languages |= {s.language for s in dataset.samples() if s.language}
        except (DatasetError, OSError):  # the runner reports a broken dataset when it reads it
            pass
    return tuple(sorted(languages))


def _tell_language(model: Any, language: str | None) -> None:
    """Hand the sample's language to adapters that take it (``set_spoken_language``)."""
    hook = getattr(model, "set_spoken_language", None)
    if callable(hook):
        hook(language)


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


def is_nonspeech(sample: Sample, dataset_kind: str) -> bool:
    """A sample where nobody speaks: any sample of a ``nonspeech`` dataset, or one whose reference is
    empty once annotations and punctuation are dropped (``(9 seconds of silence)``)."""
    if dataset_kind == NONSPEECH_KIND:
        return True
    return sample.text is not None and not get_normalizer("whisper_basic")(sample.text)


_NONSPEECH_COLUMNS = ("nonspeech_s", "hallucinated_words", "sound_tag_words", "hallucination_wpm", "sound_tag_wpm")


def _empty_loop_columns(has_nonspeech: bool) -> dict[str, Any]:
    """Every row carries the same columns (the interval machinery reads the first row's keys)."""
    names = ("repetition_loop_rate", *(_NONSPEECH_COLUMNS if has_nonspeech else ()))
    return dict.fromkeys(names)


def _total(rows: list[dict[str, Any]], column: str) -> float:
    return float(sum(r[column] for r in rows if r.get(column) is not None))


def hallucination_metrics(rows: list[dict[str, Any]]) -> list[Metric]:
    """Run metrics from the per-sample columns: loops on every scored sample; on non-speech samples
    hallucinated and sound-tag words per minute, pooled (Σ words ÷ Σ minutes)."""
    scored = [r for r in rows if r.get("repetition_loop_rate") is not None]
    if not scored:
        return []
    loops = _total(scored, "repetition_loop_rate")
    metrics = [Metric("repetition_loops", loops, False), Metric("repetition_loop_rate", loops / len(scored), False)]
    seconds = _total(scored, "nonspeech_s")
    if seconds > 0:
        metrics += [
            Metric("hallucination_wpm", words_per_minute(_total(scored, "hallucinated_words"), seconds), False),
            Metric("sound_tag_wpm", words_per_minute(_total(scored, "sound_tag_words"), seconds), None),
            Metric("nonspeech_s", seconds, None),
        ]
    return metrics


class ASRTask(Task):
    model_type = ASRModel
    Options = ASROptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages: tuple[str, ...] = ()  # of the dataset (check_dataset) or the scored samples (score)
        for name in [*self.options.normalizers, self.options.other_language_normalizer]:
            get_normalizer(name)
        if self.options.other_language_normalizer in ENGLISH_ONLY_NORMALIZERS:
            raise ValueError(
                f"conf/task/{self.name}.yaml: other_language_normalizer "
                f"'{self.options.other_language_normalizer}' is English-only"
            )
        if self.options.primary_normalizer not in self.options.normalizers:
            raise ValueError(
                f"conf/task/{self.name}.yaml: primary_normalizer '{self.options.primary_normalizer}' "
                f"is not in normalizers {self.options.normalizers}"
            )

    def check_dataset(self, model: Model, dataset: Dataset) -> None:
        """Refuse, before anything loads, a model that cannot transcribe the dataset's languages:
        one whose ``info.languages`` leaves some out (an English-only checkpoint) or that forces
        another language (``options.language``)."""
        self.languages = dataset_languages(dataset)
        supported = {code.lower() for code in model.info.languages}
        missing = [code for code in self.languages if supported and code not in supported]
        if missing:
            raise CapabilityError(
                f"model '{model.name}' transcribes only {sorted(supported)} (conf/model/{model.name}.yaml "
                f"info.languages), but dataset '{dataset.name}' has samples in {missing}: pick a multilingual "
                f"model (e.g. +model=faster_whisper_base model.options.language=from_sample)"
            )
        forced = getattr(model.options, "language", None)
        others = [code for code in self.languages if code != forced]
        if isinstance(forced, str) and forced not in _NOT_FORCED and others:
            raise CapabilityError(
                f"model '{model.name}' forces language '{forced}' (conf/model/{model.name}.yaml options.language), "
                f"but dataset '{dataset.name}' has samples in {others}: set model.options.language=from_sample "
                f"(each sample's language) or auto (detection)"
            )

    def is_english(self) -> bool:
        return set(self.languages) <= {ENGLISH}

    def primary_normalizer(self) -> str:
        return self.options.primary_normalizer if self.is_english() else self.options.other_language_normalizer

    def normalizer_names(self) -> list[str]:
        """The run's normalisers: as configured for English; else without the English-only ones."""
        if self.is_english():
            return list(self.options.normalizers)
        names = [n for n in self.options.normalizers if n not in ENGLISH_ONLY_NORMALIZERS]
        return names + [n for n in [self.options.other_language_normalizer] if n not in names]

    def predict(self, model: Any, inputs: Any, sample: Sample) -> Transcript:
        _tell_language(model, sample.language)
        return transcribe_in_windows(model, inputs, self.options.long_form)

    def predict_batch(self, model: Any, inputs: list[Any], samples: list[Sample]) -> list[Transcript]:
        """Inputs that fit one long-form window go to ``model.predict_batch`` together; longer
        ones are windowed one by one (their windows are not batched across files)."""
        window = self.options.long_form.window_s
        if len({s.language for s in samples}) > 1:  # one language per model call
            return [self.predict(model, a, s) for a, s in zip(inputs, samples, strict=True)]
        _tell_language(model, samples[0].language if samples else None)
        fits = [i for i, audio in enumerate(inputs) if not window or audio.duration_s <= window]
        outputs: dict[int, Transcript] = dict(zip(fits, model.predict_batch([inputs[i] for i in fits]), strict=True))
        return [
            outputs[i] if i in outputs else self.predict(model, a, s)
            for i, (a, s) in enumerate(zip(inputs, samples, strict=True))
        ]

    def to_record(self, output: Transcript, sample: Sample) -> dict[str, Any]:
        return {
            "text": output.text,
            "segments": output.segments,
            "words": [asdict(w) for w in output.words],
            "language": output.language,
        }

    def metadata(self) -> dict[str, Any]:
        norm = get_normalizer(self.primary_normalizer())
        language = ",".join(self.languages) or None
        return {"normalizer": norm.name, "normalizer_version": norm.version, "language": language}

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        if records:
            self.languages = tuple(sorted({r.sample.language for r in records if r.sample.language}))
        primary_name, names = self.primary_normalizer(), self.normalizer_names()
        opts = self.options
        rows: list[dict[str, Any]] = []
        per_norm: dict[str, list] = {n: [] for n in names}
        per_norm_cer: dict[str, list] = {n: [] for n in names}
        excluded_empty_ref = 0
        failed_as_empty: list = []  # failed samples scored as empty hypotheses (all deletions)
        gate_results: list[bool] = []
        nonspeech = [is_nonspeech(r.sample, dataset_kind) for r in records]
        for rec, silent_sample in zip(records, nonspeech, strict=True):
            row: dict[str, Any] = {"reference": rec.sample.text, **_empty_loop_columns(any(nonspeech))}
            if rec.error is not None or rec.output is None:
                row["hypothesis"] = None
                if rec.sample.text and get_normalizer("basic")(rec.sample.text):
                    norm = get_normalizer(primary_name)
                    failed_as_empty.append(word_errors(norm(rec.sample.text), ""))
                rows.append(row)
                continue
            hyp = rec.output.get("text", "") or ""
            row["hypothesis"] = hyp
            ref = rec.sample.text
            if ref is not None and not get_normalizer("basic")(ref):
                excluded_empty_ref += 1
                ref = None
            for name in names:
                norm = get_normalizer(name)
                if ref is None:
                    continue
                w = word_errors(norm(ref), norm(hyp))
                c = char_errors(norm(ref), norm(hyp))
                per_norm[name].append(w)
                per_norm_cer[name].append(c)
                row[f"wer_{name}"] = w.rate
                if name == primary_name:
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
            row.update(self._loop_columns(rec, hyp, silent_sample))
            if silent_sample:  # non-speech: the expected output is no words (sound tags allowed)
                gates["gate_empty_output"] = row["hallucinated_words"] == 0
            row.update(gates)
            applicable = [v for v in gates.values() if v is not None]
            row["gates_passed"] = all(applicable)
            gate_results.append(row["gates_passed"])
            rows.append(row)

        metrics: list[Metric] = []
        primary = pooled(per_norm[primary_name])
        if primary.ref_len:
            primary_cer = pooled(per_norm_cer[primary_name])
            metrics += [
                Metric("wer", primary.rate, False),
                Metric("cer", primary_cer.rate, False),
                Metric("substitution_rate", primary.substitutions / primary.ref_len, False),
                Metric("deletion_rate", primary.deletions / primary.ref_len, False),
                Metric("insertion_rate", primary.insertions / primary.ref_len, False),
                Metric("ref_words", float(primary.ref_len), None),
            ]
            rates = []
            for name in names:
                rate = pooled(per_norm[name]).rate
                rates.append(rate)
                metrics.append(Metric(f"wer_{name}", rate, False))
            metrics.append(Metric("wer_normalizer_spread", max(rates) - min(rates), False))
        if failed_as_empty:
            # A failure is never a perfect score: this WER counts failed samples as all-deletions.
            metrics.append(Metric("wer_incl_failed", pooled(per_norm[primary_name] + failed_as_empty).rate, False))
        metrics.append(Metric("n_ref_excluded_empty", float(excluded_empty_ref), None))
        if gate_results:
            metrics.append(Metric("gate_pass_rate", float(np.mean(gate_results)), True))
        metrics += hallucination_metrics(rows)
        summary = ""
        if primary.ref_len:
            summary = f"WER {100 * primary.rate:.2f}%  CER {100 * pooled(per_norm_cer[primary_name]).rate:.2f}%"
        elif gate_results:
            summary = f"gates passed {sum(gate_results)}/{len(gate_results)} (no references)"
        wpm = next((m.value for m in metrics if m.name == "hallucination_wpm"), None)
        if wpm is not None:
            summary += f", {wpm:.1f} hallucinated words/min of non-speech"
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def _loop_columns(self, rec: SampleRecord, hypothesis: str, nonspeech: bool) -> dict[str, Any]:
        """Per-sample repetition loop (any sample) and, on non-speech, hallucinated and sound-tag words
        (modellab/metrics/hallucination.py); each rate under its run metric's name."""
        norm = get_normalizer(self.primary_normalizer())
        g = self.options.gates
        looped = has_repetition_loop(norm(hypothesis).split(), g.ngram, g.max_ngram_repeats)
        out: dict[str, Any] = {"repetition_loop_rate": float(looped)}
        if nonspeech:
            counts = count_nonspeech(hypothesis, norm, SOUND_WORDS)
            seconds = rec.audio_s or rec.sample.duration_s or 0.0
            out.update(
                nonspeech_s=seconds,
                hallucinated_words=counts.hallucinated_words,
                sound_tag_words=counts.sound_tag_words,
                hallucination_wpm=words_per_minute(counts.hallucinated_words, seconds),
                sound_tag_wpm=words_per_minute(counts.sound_tag_words, seconds),
            )
        return out

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
