"""Forced-alignment metrics: boundary errors of matched words, boundaries within tolerances, coverage.

Reference *units* are timed words (or timed phrases, e.g. the turns of an STM file); hypothesis
units are the model's timed words. Both are normalised into tokens; tokens are matched by a
minimum-edit-distance alignment (jiwer) and only identical tokens ("hits") count as matched. A
reference unit's start error is measured when its first token is matched, its end error when its
last token is matched (so a phrase is timed by the first and last of its words). Errors are
hypothesis time minus reference time, in seconds; the summaries report milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jiwer
import numpy as np

__all__ = ["AlignmentResult", "TimedUnit", "align_units", "summarize_alignment"]


@dataclass
class TimedUnit:
    """A word or phrase with its start and end time in seconds."""

    text: str
    start: float
    end: float


@dataclass
class AlignmentResult:
    """Signed boundary errors (hypothesis - reference, seconds) and token coverage of one sample."""

    start_errors: list[float] = field(default_factory=list)
    end_errors: list[float] = field(default_factory=list)
    ref_tokens: int = 0
    matched_tokens: int = 0

    @property
    def coverage(self) -> float | None:
        return self.matched_tokens / self.ref_tokens if self.ref_tokens else None


def _tokens(units: Sequence[TimedUnit], normalize: Callable[[str], str]) -> tuple[list[str], list[int]]:
    """Normalised tokens and, for each, the index of the unit it came from."""
    tokens: list[str] = []
    owner: list[int] = []
    for i, unit in enumerate(units):
        for token in normalize(unit.text).split():
            tokens.append(token)
            owner.append(i)
    return tokens, owner


def _hits(ref: list[str], hyp: list[str]) -> dict[int, int]:
    """Reference token index -> hypothesis token index, for the identical pairs of a minimum-edit alignment."""
    if not ref or not hyp:
        return {}
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    pairs: dict[int, int] = {}
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                pairs[chunk.ref_start_idx + k] = chunk.hyp_start_idx + k
    return pairs


def align_units(
    reference: Sequence[TimedUnit], hypothesis: Sequence[TimedUnit], normalize: Callable[[str], str]
) -> AlignmentResult:
    """Match hypothesis words to reference units and measure the boundary errors of the matched ones."""
    ref_tokens, ref_owner = _tokens(reference, normalize)
    hyp_tokens, hyp_owner = _tokens(hypothesis, normalize)
    hits = _hits(ref_tokens, hyp_tokens)
    result = AlignmentResult(ref_tokens=len(ref_tokens), matched_tokens=len(hits))
    for unit_index, unit in enumerate(reference):
        positions = [i for i, owner in enumerate(ref_owner) if owner == unit_index]
        if not positions:
            continue
        first, last = positions[0], positions[-1]
        if first in hits:
            result.start_errors.append(hypothesis[hyp_owner[hits[first]]].start - unit.start)
        if last in hits:
            result.end_errors.append(hypothesis[hyp_owner[hits[last]]].end - unit.end)
    return result


def _ms(values: np.ndarray, how: Callable[[np.ndarray], float]) -> float | None:
    return float(how(values)) * 1000.0 if values.size else None


def summarize_alignment(results: Sequence[AlignmentResult], tolerances_ms: Sequence[float]) -> dict[str, float | None]:
    """Pooled over all samples: mean/median absolute start and end error (ms), signed bias (ms),
    share of matched boundaries (starts and ends together) within each tolerance, token coverage."""
    starts = np.array([e for r in results for e in r.start_errors], dtype=np.float64)
    ends = np.array([e for r in results for e in r.end_errors], dtype=np.float64)
    both = np.abs(np.concatenate([starts, ends]))
    ref_tokens = sum(r.ref_tokens for r in results)
    summary: dict[str, float | None] = {
        "start_error_mean_ms": _ms(np.abs(starts), np.mean),
        "start_error_median_ms": _ms(np.abs(starts), np.median),
        "end_error_mean_ms": _ms(np.abs(ends), np.mean),
        "end_error_median_ms": _ms(np.abs(ends), np.median),
        "start_bias_ms": _ms(starts, np.mean),
        "end_bias_ms": _ms(ends, np.mean),
    }
    for tol in tolerances_ms:
        # a small epsilon so that an error of exactly the tolerance counts as within it despite float noise
        summary[f"within_{tol:g}ms"] = float(np.mean(both <= tol / 1000.0 + 1e-9)) if both.size else None
    summary["word_coverage"] = sum(r.matched_tokens for r in results) / ref_tokens if ref_tokens else None
    summary["boundaries"] = float(both.size)
    return summary
