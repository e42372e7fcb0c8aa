"""Streaming-ASR metrics from a stream's timed hypotheses: latency, stability, speech bounds.

Events are ``(t, audio_s, text, committed)``: the hypothesis shown at simulated wall-clock ``t``
(seconds from the start of the stream), the audio received when its decode began, and how many
of its leading words are final. Words are compared after the ``basic`` normaliser (case and
punctuation changes are not revisions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modellab.metrics.normalizers import get_normalizer

__all__ = [
    "Revisions",
    "finalisation_latency",
    "first_partial_latency",
    "partial_lag",
    "revisions",
    "speech_bounds",
]

_BASIC = get_normalizer("basic")


def speech_bounds(
    samples: np.ndarray, sample_rate: int, frame_s: float, threshold_db: float
) -> tuple[float, float] | None:
    """(start, end) in seconds of the frames whose RMS is within ``threshold_db`` of the loudest frame.

    ``None`` for silence. A simple energy detector: enough for clean read or synthetic speech,
    which is what the latency metrics are measured on.
    """
    frame = max(1, int(round(frame_s * sample_rate)))
    n = len(samples) // frame
    if n == 0:
        return None
    frames = samples[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 0.0:
        return None
    loud = np.nonzero(rms >= peak * 10 ** (threshold_db / 20))[0]
    return float(loud[0] * frame / sample_rate), float((loud[-1] + 1) * frame / sample_rate)


@dataclass
class Revisions:
    """Words shown across a stream's updates and how many of them were later taken back."""

    emitted: int  # words that newly appeared in some update (re-emissions after a revision count again)
    revised: int  # shown words that a later update removed or changed

    @property
    def rate(self) -> float | None:
        return self.revised / self.emitted if self.emitted else None


def _keys(text: str) -> list[str]:
    return _BASIC(text).split()


def revisions(texts: Sequence[str]) -> Revisions:
    """Count word revisions between consecutive hypotheses.

    For each update from ``a`` to ``b`` (word lists), with ``p`` the length of their longest common
    prefix: ``len(a) - p`` shown words are revised and ``len(b) - p`` words are emitted.
    """
    emitted = revised = 0
    previous: list[str] = []
    for text in texts:
        current = _keys(text)
        p = 0
        while p < len(previous) and p < len(current) and previous[p] == current[p]:
            p += 1
        revised += len(previous) - p
        emitted += len(current) - p
        previous = current
    return Revisions(emitted, revised)


def first_partial_latency(events: Sequence[dict[str, Any]], speech_start: float) -> float | None:
    """Time from the start of speech to the first non-empty hypothesis (None if there is none)."""
    for event in events:
        if _keys(event["text"]):
            return float(event["t"]) - speech_start
    return None


def finalisation_latency(events: Sequence[dict[str, Any]], speech_end: float) -> float | None:
    """Time from the end of speech until every word of the final transcript is committed."""
    if not events:
        return None
    final_words = int(events[-1]["committed"])
    if final_words == 0:
        return None
    for event in events:
        if int(event["committed"]) >= final_words:
            return float(event["t"]) - speech_end
    return None


def partial_lag(events: Sequence[dict[str, Any]]) -> float | None:
    """Mean delay between the audio a hypothesis covers arriving and the hypothesis being shown."""
    lags = [float(e["t"]) - float(e["audio_s"]) for e in events if not e.get("final")]
    return float(np.mean(lags)) if lags else None
