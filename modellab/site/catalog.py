"""Which metrics a leaderboard shows per task, how they are labelled and formatted.

The direction of a metric (higher or lower is better) comes from the results' ``metrics`` table
(``higher_is_better``); the ``fallback_higher_is_better`` here is only used when the results say
nothing. A task missing from :data:`MAIN_METRICS`, or whose listed metrics are absent from its
runs, gets the metrics its runs actually have (those with a direction), so a new task shows up
on the leaderboard without a change here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "BOOKKEEPING_METRICS",
    "CONTEXT_FIELDS",
    "KNOWN_METRICS",
    "MAIN_METRICS",
    "MetricSpec",
    "SPEED_METRICS",
    "format_value",
    "main_metrics",
    "metric_spec",
    "number_formatter",
]


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is shown. ``unit``: ``rate`` (a fraction shown as %), ``x``, ``s``, ``MB`` or ``""``."""

    name: str
    label: str
    unit: str = ""
    fallback_higher_is_better: bool | None = None
    description: str = ""
    zero_means: str = ""  # a zero that is not a measurement (shown as this text, never marked best)


_SPECS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("wer", "WER", "rate", False, "word error rate, pooled over the corpus"),
        MetricSpec("cer", "CER", "rate", False, "character error rate, pooled over the corpus"),
        MetricSpec("der", "DER", "rate", False, "diarization error rate"),
        MetricSpec("jer", "JER", "rate", False, "Jaccard error rate"),
        MetricSpec("der_with_collar", "DER (collar)", "rate", False, "DER with the forgiveness collar"),
        MetricSpec("speaker_count_accuracy", "Speakers right", "rate", True, "files with the right speaker count"),
        MetricSpec("f1", "F1", "", True, "F1 score of speech frames"),
        MetricSpec("precision", "Precision", "", True),
        MetricSpec("recall", "Recall", "", True),
        MetricSpec("detection_error_rate", "DetER", "rate", False, "detection error rate (miss + false alarm)"),
        MetricSpec("bleu", "BLEU", "", True),
        MetricSpec("chrf", "chrF", "", True),
        MetricSpec("mos", "MOS", "", True, "mean opinion score (listening test)"),
        MetricSpec("dnsmos_ovrl", "DNSMOS", "", True, "DNSMOS P.835 overall (1-5), predicted without listeners"),
        MetricSpec("distillmos", "DistillMOS", "", True, "DistillMOS (1-5), predicted without listeners"),
        MetricSpec("speaker_consistency", "Same voice", "", True, "mean d-vector cosine between a run's outputs"),
        MetricSpec("start_error_mean_ms", "Start error", "ms", False, "mean word start error"),
        MetricSpec("end_error_mean_ms", "End error", "ms", False, "mean word end error"),
        MetricSpec("word_coverage", "Coverage", "rate", True, "reference words the aligner placed"),
        MetricSpec("first_partial_latency_s", "First partial", "s", False, "latency of the first partial result"),
        MetricSpec("finalisation_latency_s", "Finalisation", "s", False, "latency of the final result"),
        MetricSpec("partial_revision_rate", "Revisions", "rate", False, "partial words later revised"),
        MetricSpec("cpwer", "cpWER", "rate", False, "concatenated minimum-permutation WER: words and who said them"),
        MetricSpec("wder", "WDER", "rate", False, "word diarization error rate: words given to the wrong speaker"),
        MetricSpec("asr_wer", "ASR WER", "rate", False, "WER of the cascade's ASR stage"),
        MetricSpec("tts_wer", "TTS WER", "rate", False, "round-trip WER of the cascade's TTS stage"),
        MetricSpec("gate_pass_rate", "Gates passed", "rate", True, "share of samples passing every sanity gate"),
        MetricSpec("insertion_rate", "Insertions", "rate", False, "inserted words / reference words, pooled"),
        MetricSpec("hallucination_wpm", "Halluc. w/min", "", False, "words written per minute of non-speech, pooled"),
        MetricSpec("sound_tag_wpm", "Sound tags/min", "", None, "sound tags ([beep], music) per minute of non-speech"),
        MetricSpec("repetition_loop_rate", "Loops", "rate", False, "samples with a repeated n-gram loop"),
        MetricSpec("cost_per_audio_hour", "$ / audio h", "", False, "hardware price × compute s ÷ audio s (USD)"),
        MetricSpec("rtfx", "RTFx", "x", True, "audio seconds per second of model compute (higher is faster)"),
        MetricSpec("rtf", "RTF", "", False, "compute seconds per audio second"),
        MetricSpec(
            "load_s",
            "Load",
            "s",
            False,
            "model load time; 'reused': already loaded in this process by an earlier run (linked, with its load time)",
            zero_means="reused",  # the runner records 0 when the process had the model loaded already
        ),
        MetricSpec("peak_rss_mb", "Peak RSS", "MB", False, "peak resident memory of the process"),
        MetricSpec("compute_s", "Compute", "s", False),
        MetricSpec("audio_s", "Audio", "s", None),
    )
}

KNOWN_METRICS: frozenset[str] = frozenset(_SPECS)

# Task -> its headline metrics, most important first (the first is the task's primary metric).
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "asr": ("wer", "cer", "insertion_rate", "hallucination_wpm"),  # hallucination_wpm: non-speech sets
    "streaming_asr": ("wer", "first_partial_latency_s", "finalisation_latency_s", "partial_revision_rate"),
    "alignment": ("start_error_mean_ms", "end_error_mean_ms", "word_coverage"),
    "vad": ("f1", "precision", "recall", "detection_error_rate"),
    "diarization": ("der", "jer", "der_with_collar", "speaker_count_accuracy"),
    "translation": ("bleu", "chrf"),
    "tts": ("mos", "wer", "cer", "dnsmos_ovrl", "distillmos", "speaker_consistency"),  # WER/CER: round trip (ASR)
    "v2v": ("wer", "cer", "asr_wer", "tts_wer", "dnsmos_ovrl", "distillmos"),
    "speaker_asr": ("cpwer", "wder", "der", "wer"),  # WER ignoring speakers; DER of the diarizer's turns
}

# Run columns stated next to the numbers (what the metric depends on): column -> (label, unit).
CONTEXT_FIELDS: dict[str, tuple[str, str]] = {
    "der_collar_s": ("Collar", "s"),
    "collar": ("Collar", "s"),
    "der_with_collar_collar_s": ("Collar of DER (collar)", "s"),
    "der_overlap_handling": ("Overlap", ""),
    "vad_frame_s": ("Frame", "s"),
    "vad_reference": ("Reference", ""),
    "intelligibility_asr": ("Round-trip ASR", ""),
}

# Shown on every leaderboard after the task's own metrics (the runner records them for all tasks).
SPEED_METRICS: tuple[str, ...] = ("rtfx", "load_s", "peak_rss_mb")

# Recorded for every run but never a leaderboard headline.
BOOKKEEPING_METRICS: frozenset[str] = frozenset(
    {"audio_s", "compute_s", "rtf", "rss_growth", "n_failed", "ref_words", "n_ref_excluded_empty"}
)

_RATE_PREFIXES = ("wer_", "cer_", "der_", "jer_")


@functools.lru_cache(maxsize=4096)
def metric_spec(name: str) -> MetricSpec:
    """The spec of ``name``; unknown metrics get a plain one (label = name, rates guessed by name)."""
    if name in _SPECS:
        return _SPECS[name]
    if name.endswith("_rate") or name.startswith(_RATE_PREFIXES):
        return MetricSpec(name, name, "rate")
    if name.endswith("_ms"):
        return MetricSpec(name, name, "ms")
    if name.endswith("_s"):
        return MetricSpec(name, name, "s")
    return MetricSpec(name, name)


def main_metrics(task: str, directions: Mapping[str, bool | None], present: Iterable[str], limit: int = 3) -> list[str]:
    """The headline metrics of ``task`` among the ``present`` ones (primary first).

    ``directions`` maps metric name -> higher_is_better (None: no direction). Falls back to up
    to ``limit`` present metrics with a direction that are neither speed nor bookkeeping.
    """
    present = [p for p in present]
    chosen = [m for m in MAIN_METRICS.get(task, ()) if m in present]
    if chosen:
        return chosen
    fallback = [
        m
        for m in sorted(present)
        if m not in SPEED_METRICS
        and m not in BOOKKEEPING_METRICS
        and (directions.get(m) is not None or metric_spec(m).fallback_higher_is_better is not None)
    ]
    return fallback[:limit]


def format_value(name: str, value: float | int | bool | None) -> str:
    """A metric value as people read it (``0.0563`` WER -> ``5.63%``); empty for missing/NaN."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return number_formatter(name)(v)


def _plain_number(v: float) -> str:
    return f"{int(v)}" if v == int(v) and abs(v) < 1e15 else f"{v:.4g}"


_UNIT_FORMATS: dict[str, Callable[[float], str]] = {
    "rate": lambda v: f"{100 * v:.2f}%",
    "x": lambda v: f"{v:.1f}×",
    "s": lambda v: f"{1000 * v:.1f} ms" if abs(v) < 0.01 else f"{v:.2f} s",
    "ms": lambda v: f"{v:.0f} ms",
    "MB": lambda v: f"{v:,.0f} MB",
}


@functools.lru_cache(maxsize=4096)
def number_formatter(name: str) -> Callable[[float], str]:
    """How :func:`format_value` writes a finite number of metric ``name`` (looked up once per
    name, for tables of thousands of cells)."""
    spec = metric_spec(name)
    by_unit = _UNIT_FORMATS.get(spec.unit, _plain_number)
    if not spec.zero_means:
        return by_unit
    zero = spec.zero_means
    return lambda v: zero if v == 0 else by_unit(v)
