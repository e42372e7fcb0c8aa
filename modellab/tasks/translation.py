"""Speech translation: speech in a source language, text in the target language, BLEU and chrF.

References are the dataset's ``text`` (in the target language); the sample's ``language`` is
the source language. Hypotheses are stored raw; sacrebleu tokenises at scoring time and its
signatures are recorded on the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from modellab.metrics.translation import TranslationScorer
from modellab.models.base import TranslationModel
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.types import Audio, Sample, Transcript

__all__ = ["SourceLanguageTranslator", "TranslationOptions", "TranslationTask"]


@runtime_checkable
class SourceLanguageTranslator(Protocol):
    """A translation model that can be told the source language (else it detects it or needs none)."""

    def translate(self, audio: Audio, source_language: str) -> Transcript: ...


@dataclass
class TranslationOptions:
    """Values come from conf/task/translation.yaml."""

    bleu_tokenize: str  # sacrebleu tokenizer: 13a (WMT default), intl, char, none, ...
    lowercase: bool  # case-insensitive BLEU and chrF
    chrf_word_order: int  # 0 = chrF, 2 = chrF++
    give_source_language: bool  # pass the sample's language to models that accept it (SourceLanguageTranslator)


class TranslationTask(Task):
    model_type = TranslationModel
    Options = TranslationOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        o = self.options
        self.scorer = TranslationScorer(o.bleu_tokenize, o.lowercase, o.chrf_word_order)

    def predict(self, model: Any, inputs: Audio, sample: Sample) -> Transcript:
        if self.options.give_source_language and sample.language and isinstance(model, SourceLanguageTranslator):
            return model.translate(inputs, sample.language)
        return model.predict(inputs)

    def predict_batch(self, model: Any, inputs: list[Any], samples: list[Sample]) -> list[Transcript] | None:
        if self.options.give_source_language and isinstance(model, SourceLanguageTranslator):
            return None  # a source language per sample: one call each
        return model.predict_batch(inputs)

    def to_record(self, output: Transcript, sample: Sample) -> dict[str, Any]:
        return {"text": output.text, "language": output.language, "source_language": sample.language}

    def metadata(self) -> dict[str, Any]:
        return self.scorer.signatures()

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        rows: list[dict[str, Any]] = []
        hypotheses: list[str] = []
        references: list[str] = []
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text, "hypothesis": None}
            row["source_language"] = rec.sample.language
            if rec.error is None and rec.output is not None:
                hyp = rec.output.get("text") or ""
                row["hypothesis"] = hyp
                ref = (rec.sample.text or "").strip()
                if ref:
                    row.update(self.scorer.sentence(hyp, ref))
                    hypotheses.append(hyp)
                    references.append(ref)
                row["empty_output"] = not hyp.strip()
            rows.append(row)
        metrics: list[Metric] = []
        summary = ""
        if hypotheses:
            corpus = self.scorer.corpus(hypotheses, references)
            metrics += [
                Metric("bleu", corpus["bleu"], True),
                Metric("chrf", corpus["chrf"], True),
                Metric("n_scored", float(len(hypotheses)), None),
            ]
            summary = f"BLEU {corpus['bleu']:.1f}  chrF {corpus['chrf']:.1f}"
        answered = [r["empty_output"] for r in rows if "empty_output" in r]
        if answered:
            metrics.append(Metric("empty_output_rate", sum(answered) / len(answered), False))
        return Scores(samples=rows, metrics=metrics, summary=summary)

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        return (record.output or {}).get("text", "")
