"""Word and character error rates: pooled over a corpus and per sample (jiwer)."""

from __future__ import annotations

from dataclasses import dataclass

import jiwer

__all__ = ["ErrorCounts", "word_errors", "char_errors", "pooled"]


@dataclass
class ErrorCounts:
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    ref_len: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors ÷ reference length; NaN for an empty reference (never divides by zero)."""
        return self.errors / self.ref_len if self.ref_len else float("nan")


def _counts(reference: str, hypothesis: str, chars: bool) -> ErrorCounts:
    ref_units = list(reference) if chars else reference.split()
    hyp_units = list(hypothesis) if chars else hypothesis.split()
    if not ref_units:
        return ErrorCounts(0, 0, len(hyp_units), 0, 0)
    if not hyp_units:
        return ErrorCounts(0, len(ref_units), 0, 0, len(ref_units))
    out: jiwer.WordOutput | jiwer.CharacterOutput = (
        jiwer.process_characters(reference, hypothesis) if chars else jiwer.process_words(reference, hypothesis)
    )
    return ErrorCounts(out.substitutions, out.deletions, out.insertions, out.hits, len(ref_units))


def word_errors(reference: str, hypothesis: str) -> ErrorCounts:
    return _counts(reference, hypothesis, chars=False)


def char_errors(reference: str, hypothesis: str) -> ErrorCounts:
    """CER over characters of the (normalised) strings, spaces included, as ``jiwer.cer``."""
    return _counts(reference, hypothesis, chars=True)


def pooled(counts: list[ErrorCounts]) -> ErrorCounts:
    """Corpus-level counts: Σ errors ÷ Σ reference length (not a mean of per-sample rates)."""
    return ErrorCounts(
        sum(c.substitutions for c in counts),
        sum(c.deletions for c in counts),
        sum(c.insertions for c in counts),
        sum(c.hits for c in counts),
        sum(c.ref_len for c in counts),
    )
