"""Speaker-attributed ASR ("who said what"): cpWER and WDER, plus the parts' own metrics — DER of the
model's diarizer turns against the RTTM and WER with the speakers ignored.

References: each sample's STM (speaker, start, end, text per turn; times shift by the sample's
offset) and, for DER, its RTTM. Every metric is pooled over files (Σ errors ÷ Σ words, Σ error time
÷ Σ scored speech) and carries a bootstrap interval over files. Definitions:
:mod:`modellab.metrics.speaker_asr`. Per sample the hypothesis is kept as an STM file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modellab.datasets.builders.pyannote_sample import read_stm
from modellab.metrics.diarization import DiarizationScorer
from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.speaker_asr import (
    CpWERCounts,
    SpeakerToken,
    WDERCounts,
    cpwer,
    speaker_tokens,
    wder,
    wer_ignoring_speakers,
)
from modellab.metrics.wer import ErrorCounts, pooled
from modellab.models.speaker_cascade import SpeakerASRModel, SpeakerTranscript
from modellab.tasks.base import Metric, SampleRecord, Scores, Task
from modellab.tasks.diarization import reference_turns, safe_name
from modellab.types import Sample, SpeakerTurn

__all__ = ["SpeakerASROptions", "SpeakerASRTask", "hypothesis_turns", "reference_stm"]


@dataclass
class SpeakerASROptions:
    """Values come from conf/task/speaker_asr.yaml (defaults live once, in YAML)."""

    normalizer: str  # applied to each turn's text before every word metric
    collar_s: float  # DER of the diarizer turns: TOTAL collar width (pyannote.metrics' convention)
    skip_overlap: bool  # DER: true leaves regions where reference speakers overlap unscored


def reference_stm(sample: Sample) -> list[tuple[str, float, float, str]] | None:
    """The sample's STM turns ``(speaker, start, end, text)`` in its own time, by start; None without one."""
    if not sample.stm_path:
        return None
    rows = [
        (spk, start - sample.offset_s, end - sample.offset_s, text)
        for spk, start, end, text in read_stm(Path(sample.stm_path))
    ]
    return sorted(rows, key=lambda r: (r[1], r[2]))


def hypothesis_turns(words: list[dict[str, Any]]) -> list[tuple[str, float, float, str]]:
    """Consecutive words of one speaker, in time order, as ``(speaker, start, end, text)`` turns."""
    turns: list[tuple[str, float, float, str]] = []
    for w in sorted(words, key=lambda w: (float(w["start"]), float(w["end"]))):
        speaker, start, end, text = str(w["speaker"]), float(w["start"]), float(w["end"]), str(w["word"]).strip()
        if turns and turns[-1][0] == speaker:
            prev = turns[-1]
            turns[-1] = (speaker, prev[1], max(prev[2], end), f"{prev[3]} {text}")
        else:
            turns.append((speaker, start, end, text))
    return turns


@dataclass
class _Pooled:
    """The run's per-file counts, pooled at the end."""

    cp: list[CpWERCounts]
    wd: list[WDERCounts]
    wer: list[ErrorCounts]
    count_right: list[bool]


class SpeakerASRTask(Task):
    model_type = SpeakerASRModel
    Options = SpeakerASROptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.normalize = get_normalizer(self.options.normalizer)

    def to_record(self, output: SpeakerTranscript, sample: Sample) -> dict[str, Any]:
        return {
            "words": [{"word": w.word, "start": w.start, "end": w.end, "speaker": w.speaker} for w in output.words],
            "turns": [{"start": float(t.start), "end": float(t.end), "speaker": str(t.speaker)} for t in output.turns],
            "stages_s": output.stages_s,
        }

    def save_artifact(self, output: SpeakerTranscript, sample: Sample, folder: Any) -> str | None:
        name = safe_name(sample.sample_id)
        words = self.to_record(output, sample)["words"]
        lines = [f"{name} 1 {spk} {start:.3f} {end:.3f} {text}" for spk, start, end, text in hypothesis_turns(words)]
        path = Path(folder) / f"{name}.stm"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return str(path)

    def metadata(self) -> dict[str, Any]:
        norm = get_normalizer(self.options.normalizer)
        return {
            "normalizer": norm.name,
            "normalizer_version": norm.version,
            "der_collar_s": self.options.collar_s,
            "der_overlap_handling": "overlap regions not scored"
            if self.options.skip_overlap
            else "overlapped speech scored",
            "wder_definition": "Shafey et al. 2019: (S_IS + C_IS) / (S + C), speakers mapped one-to-one (Hungarian)",
        }

    def _score_words(self, rec: SampleRecord, row: dict[str, Any], acc: _Pooled) -> None:
        """cpWER, WDER and WER of one sample against its STM (nothing without one)."""
        assert rec.output is not None
        hyp_turns = hypothesis_turns(rec.output["words"])
        row["hypothesis"] = " ".join(text for _, _, _, text in hyp_turns)
        stm = reference_stm(rec.sample)
        if stm is None:
            return
        row["reference"] = " ".join(text for _, _, _, text in stm)
        ref: list[SpeakerToken] = speaker_tokens([(spk, text) for spk, _, _, text in stm], self.normalize)
        hyp: list[SpeakerToken] = speaker_tokens([(spk, text) for spk, _, _, text in hyp_turns], self.normalize)
        cp, wd, w = cpwer(ref, hyp), wder(ref, hyp), wer_ignoring_speakers(ref, hyp)
        acc.cp.append(cp)
        acc.wd.append(wd)
        acc.wer.append(w)
        n_ref, n_hyp = len({t.speaker for t in ref}), len({t.speaker for t in hyp})
        acc.count_right.append(n_ref == n_hyp)
        row.update(
            cpwer=cp.rate,
            cpwer_errors=cp.errors,
            cpwer_words=cp.words,
            missed_speakers=cp.missed_speakers,
            falarm_speakers=cp.falarm_speakers,
            wder=wd.rate,
            wder_errors=wd.speaker_errors,
            wder_words=wd.scored_words,
            wer=w.rate,
            substitutions=w.substitutions,
            deletions=w.deletions,
            insertions=w.insertions,
            ref_words=w.ref_len,
            ref_speakers=n_ref,
            hyp_speakers=n_hyp,
        )

    @staticmethod
    def _score_turns(rec: SampleRecord, row: dict[str, Any], scorer: DiarizationScorer) -> None:
        """DER of the model's diarizer turns against the sample's RTTM (nothing without one)."""
        assert rec.output is not None
        ref = reference_turns(rec.sample, rec.audio_s)
        if ref is None:
            return
        hyp = [SpeakerTurn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in rec.output["turns"]]
        s = scorer.add(ref, hyp, rec.audio_s)
        row.update(
            der=s.der,
            der_miss=s.miss_rate,
            der_false_alarm=s.false_alarm_rate,
            der_confusion=s.confusion_rate,
            scored_speech_s=s.total,
        )

    def score(self, records: list[SampleRecord], dataset_kind: str) -> Scores:
        scorer = DiarizationScorer(self.options.collar_s, self.options.skip_overlap)
        acc = _Pooled([], [], [], [])
        stages: dict[str, list[float]] = {}
        rows: list[dict[str, Any]] = []
        for rec in records:
            row: dict[str, Any] = {"reference": rec.sample.text, "hypothesis": None}
            rows.append(row)
            if rec.error is not None or rec.output is None:
                continue
            self._score_words(rec, row, acc)
            self._score_turns(rec, row, scorer)
            for stage, seconds in (rec.output.get("stages_s") or {}).items():
                stages.setdefault(stage, []).append(float(seconds))
        metrics = _word_metrics(acc) + _turn_metrics(scorer)
        metrics += [
            Metric(f"{s.removesuffix('_s')}_s_mean", float(np.mean(v)), False) for s, v in sorted(stages.items())
        ]
        return Scores(samples=rows, metrics=[m for m in metrics if m.value is not None], summary=_summary(metrics))

    def describe_output(self, record: SampleRecord) -> str:
        if record.error:
            return f"ERROR: {record.error}"
        turns = hypothesis_turns((record.output or {}).get("words", []))
        return "\n".join(f"[{s:8.3f} --> {e:8.3f}] {spk}: {text}" for spk, s, e, text in turns) or "(no words)"


def _word_metrics(acc: _Pooled) -> list[Metric]:
    if not acc.cp:
        return []
    cp_errors, cp_words = sum(c.errors for c in acc.cp), sum(c.words for c in acc.cp)
    wd_errors, wd_words = sum(c.speaker_errors for c in acc.wd), sum(c.scored_words for c in acc.wd)
    w = pooled(acc.wer)
    return [
        Metric("cpwer", cp_errors / cp_words if cp_words else None, False),
        Metric("wder", wd_errors / wd_words if wd_words else None, False),
        Metric("wer", w.rate if w.ref_len else None, False),
        Metric("substitution_rate", w.substitutions / w.ref_len if w.ref_len else None, False),
        Metric("deletion_rate", w.deletions / w.ref_len if w.ref_len else None, False),
        Metric("insertion_rate", w.insertions / w.ref_len if w.ref_len else None, False),
        Metric("ref_words", float(w.ref_len), None),
        Metric("wder_scored_words", float(wd_words), None),
        Metric("missed_speakers", float(sum(c.missed_speakers for c in acc.cp)), False),
        Metric("falarm_speakers", float(sum(c.falarm_speakers for c in acc.cp)), False),
        Metric("speaker_count_accuracy", float(np.mean(acc.count_right)), True),
    ]


def _turn_metrics(scorer: DiarizationScorer) -> list[Metric]:
    p = scorer.pooled()
    if p is None:
        return []
    return [
        Metric("der", p.der, False),
        Metric("der_miss", p.miss_rate, False),
        Metric("der_false_alarm", p.false_alarm_rate, False),
        Metric("der_confusion", p.confusion_rate, False),
        Metric("scored_speech_s", p.total, None),
    ]


def _summary(metrics: list[Metric]) -> str:
    values = {m.name: m.value for m in metrics if m.value is not None}
    parts = [
        f"{label} {100 * values[k]:.2f}%"
        for k, label in (("cpwer", "cpWER"), ("wder", "WDER"), ("wer", "WER"), ("der", "DER"))
        if k in values
    ]
    return "  ".join(parts)
