"""Hallucination on non-speech and repetition loops: what an ASR model writes where nobody speaks.

A *non-speech* sample is one of a ``nonspeech`` dataset (silence, tones, noise; no references) or
one whose reference is empty once annotations are dropped (``(9 seconds of silence)``). What a
model writes on it is split in two:

* **sound tags**: text a captioner would write for a sound, not words anyone said: every span in
  brackets, parentheses or asterisks (``[BLANK_AUDIO]``, ``(beeping)``, ``*monkeys screaming*``, ``♪``)
  and bare sound words from ``sound_words`` (``beep``, ``tone``, ``music``; conf/task/asr.yaml). A
  beep is not speech, but a model that writes "beep" is describing it, not inventing speech: these
  are counted apart (``sound_tag_wpm``) and are never hallucinated words.
* **hallucinated words**: the rest, counted as words under the run's primary normaliser (so
  punctuation alone, ``". . . ."``, is no word). ``hallucination_wpm`` = Σ hallucinated words ÷
  Σ non-speech minutes, pooled over the run's non-speech samples (never a mean of per-sample rates).

Per sample the rate is stored under the metric's own name, ``words ÷ (duration_s / 60)``, so the
run value is the duration-weighted mean of the per-sample values and :mod:`modellab.metrics.stats`
finds its bootstrap interval without a registration.

A **repetition loop** is an n-gram of normalised hypothesis words repeated more than
``max_repeats`` times (the ASR repetition gate's rule, conf/task/asr.yaml ``gates``), on any sample.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "SOUND_WORDS",
    "NonSpeechCounts",
    "count_nonspeech",
    "has_repetition_loop",
    "max_ngram_repeats",
    "split_sound_tags",
    "words_per_minute",
]

# Bare words that name a sound rather than transcribe speech (matched after stripping punctuation, any case).
SOUND_WORDS: frozenset[str] = frozenset(
    "beep beeps beeping bleep bleeps boop ding dings dong tone tones chime chimes buzz buzzing hum humming "
    "click clicks clicking ring ringing whistle static noise silence music applause laughter".split()
)

# [..] (..) *..* spans and music notes: a captioner's description of a sound, not transcribed speech
_TAG_SPAN = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]+\*|[♪♫]+")
_WORD_EDGE = re.compile(r"^\W+|\W+$")


@dataclass(frozen=True)
class NonSpeechCounts:
    """What a model wrote on one non-speech sample."""

    hallucinated_words: int
    sound_tag_words: int


def max_ngram_repeats(words: list[str], n: int) -> int:
    """How often the most frequent n-gram occurs (a repetition-loop detector)."""
    if len(words) < n:
        return 0
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return max(counts.values())


def has_repetition_loop(words: list[str], n: int, max_repeats: int) -> bool:
    """Whether some n-gram of ``words`` occurs more than ``max_repeats`` times."""
    return max_ngram_repeats(words, n) > max_repeats


def _span_words(span: str) -> int:
    """A tag span counts its words, at least one (``♪`` or ``[ ]`` is one tag)."""
    return max(1, len(_TAG_SPAN.sub(" ", span[1:-1] if len(span) > 1 else "").split()))


def split_sound_tags(text: str, sound_words: Iterable[str]) -> tuple[str, int]:
    """``text`` without its sound tags, and how many tag words were removed."""
    vocabulary = {w.lower() for w in sound_words}
    spans = _TAG_SPAN.findall(text)
    tagged = sum(_span_words(s) for s in spans)
    kept = []
    for token in _TAG_SPAN.sub(" ", text).split():
        if _WORD_EDGE.sub("", token).lower() in vocabulary:
            tagged += 1
        else:
            kept.append(token)
    return " ".join(kept), tagged


def count_nonspeech(hypothesis: str, normalize: Callable[[str], str], sound_words: Iterable[str]) -> NonSpeechCounts:
    """Hallucinated words (under ``normalize``) and sound-tag words of a hypothesis on non-speech."""
    rest, tagged = split_sound_tags(hypothesis or "", sound_words)
    return NonSpeechCounts(len(normalize(rest).split()), tagged)


def words_per_minute(words: float, seconds: float) -> float | None:
    """``words`` per minute of ``seconds``; None without duration."""
    return words / (seconds / 60.0) if seconds > 0 else None
