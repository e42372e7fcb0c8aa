"""Round-trip intelligibility scoring: WER/CER of generated speech transcribed by an ASR model.

The transcribing model (:class:`modellab.models.compose.RoundTripASR`) is any
``conf/model/<name>.yaml`` with the ``asr`` capability; this module only scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.wer import ErrorCounts, char_errors, pooled, word_errors

__all__ = [
    "IntelligibilityOptions",
    "RoundTripScore",
    "pooled_rates",
    "score_round_trip",
]


@dataclass
class IntelligibilityOptions:
    """Values in conf/task/<task>.yaml. ``asr_model: null`` turns the round trip off."""

    asr_model: str | None
    device: str
    normalizers: list[str]
    primary_normalizer: str


@dataclass
class RoundTripScore:
    """Per-normaliser word and character error counts for one (reference, hypothesis) pair."""

    words: dict[str, ErrorCounts]
    chars: dict[str, ErrorCounts]


def score_round_trip(reference: str, hypothesis: str, normalizers: list[str]) -> RoundTripScore:
    words, chars = {}, {}
    for name in normalizers:
        norm = get_normalizer(name)
        words[name] = word_errors(norm(reference), norm(hypothesis))
        chars[name] = char_errors(norm(reference), norm(hypothesis))
    return RoundTripScore(words, chars)


def pooled_rates(scores: list[RoundTripScore], normalizer: str) -> tuple[float, float]:
    """Corpus-pooled (WER, CER) under one normaliser."""
    return pooled([s.words[normalizer] for s in scores]).rate, pooled([s.chars[normalizer] for s in scores]).rate
