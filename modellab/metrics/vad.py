"""Voice activity detection metrics: frame-level precision/recall/F1/detection error, speech ratio,
segment count and boundary error.

Segments are ``(start, end)`` pairs in seconds. Frame-level scores rasterise both sides onto the
same grid of ``frame_s`` frames: frame ``i`` covers ``[i * frame_s, (i + 1) * frame_s)`` and is
speech when its centre lies inside a segment. Counts are summed over files before dividing
(pooled), never averaged per file.

Why not pyannote (checked in ``tests/test_vad_metrics.py``):

- ``pyannote.metrics.detection`` (DetectionErrorRate, DetectionPrecision/Recall) scores continuous
  time, these scores frames: a different quantity off the frame grid (per file up to 0.0036 in DER
  on the golden sets, 0.001 pooled), so stored results and pinned baselines would move.
  ``boundary_errors`` and ``false_alarm_rate`` (over non-speech) have no pyannote counterpart.
- :func:`merge_segments` is exactly ``pyannote.core.Timeline.support()`` (bit for bit on the golden
  sets' references and the hypotheses of three VADs), but pyannote.core is in the optional ``[vad]``
  extra (and pulls pandas), while ``task=vad`` also runs ``faster_whisper_vad`` with ``[asr]`` only;
  its ``Segment`` also treats gaps under 1 µs as no gap, which this union does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FrameCounts",
    "boundary_errors",
    "frame_counts",
    "merge_segments",
    "speech_duration",
    "to_frames",
]

Span = tuple[float, float]


def merge_segments(segments: Iterable[Sequence[float]]) -> list[Span]:
    """The union of ``segments``, sorted, with touching or overlapping ones merged."""
    spans = sorted((float(s[0]), float(s[1])) for s in segments if float(s[1]) > float(s[0]))
    merged: list[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def speech_duration(segments: Iterable[Sequence[float]]) -> float:
    """Seconds covered by the union of ``segments``."""
    return sum(end - start for start, end in merge_segments(segments))


def to_frames(segments: Iterable[Sequence[float]], duration_s: float, frame_s: float) -> np.ndarray:
    """A boolean speech mask with one entry per ``frame_s`` frame of a ``duration_s`` file."""
    n = int(round(duration_s / frame_s))
    centres = (np.arange(n) + 0.5) * frame_s
    mask = np.zeros(n, dtype=bool)
    for start, end in merge_segments(segments):
        mask |= (centres >= start) & (centres < end)
    return mask


@dataclass
class FrameCounts:
    """Frame confusion counts; the rates follow from them (``None`` when undefined)."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0

    def __add__(self, other: FrameCounts) -> FrameCounts:
        return FrameCounts(
            self.true_positive + other.true_positive,
            self.false_positive + other.false_positive,
            self.false_negative + other.false_negative,
            self.true_negative + other.true_negative,
        )

    @property
    def reference_speech(self) -> int:
        return self.true_positive + self.false_negative

    @property
    def precision(self) -> float | None:
        predicted = self.true_positive + self.false_positive
        return self.true_positive / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positive / self.reference_speech if self.reference_speech else None

    @property
    def f1(self) -> float | None:
        denominator = 2 * self.true_positive + self.false_positive + self.false_negative
        return 2 * self.true_positive / denominator if denominator else None

    @property
    def detection_error_rate(self) -> float | None:
        """(false alarm + missed speech) / reference speech, as pyannote.metrics defines it."""
        if not self.reference_speech:
            return None
        return (self.false_positive + self.false_negative) / self.reference_speech

    @property
    def miss_rate(self) -> float | None:
        return self.false_negative / self.reference_speech if self.reference_speech else None

    @property
    def false_alarm_rate(self) -> float | None:
        """False-alarm frames over non-speech frames of the reference."""
        non_speech = self.false_positive + self.true_negative
        return self.false_positive / non_speech if non_speech else None


def frame_counts(
    reference: Iterable[Sequence[float]], hypothesis: Iterable[Sequence[float]], duration_s: float, frame_s: float
) -> FrameCounts:
    ref = to_frames(reference, duration_s, frame_s)
    hyp = to_frames(hypothesis, duration_s, frame_s)
    return FrameCounts(
        true_positive=int(np.sum(ref & hyp)),
        false_positive=int(np.sum(~ref & hyp)),
        false_negative=int(np.sum(ref & ~hyp)),
        true_negative=int(np.sum(~ref & ~hyp)),
    )


def boundary_errors(reference: Iterable[Sequence[float]], hypothesis: Iterable[Sequence[float]]) -> list[float]:
    """For every reference onset (offset): seconds to the nearest hypothesis onset (offset).

    Both sides are merged first. Empty when either side has no segment (the boundary error is
    then undefined, not zero).
    """
    ref = merge_segments(reference)
    hyp = merge_segments(hypothesis)
    if not ref or not hyp:
        return []
    hyp_on = np.array([s for s, _ in hyp])
    hyp_off = np.array([e for _, e in hyp])
    errors = [float(np.min(np.abs(hyp_on - s))) for s, _ in ref]
    errors += [float(np.min(np.abs(hyp_off - e))) for _, e in ref]
    return errors
