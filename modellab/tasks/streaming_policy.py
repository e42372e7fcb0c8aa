"""Streaming policies: turn an offline ASR model into a streaming one, on a simulated real-time clock.

Audio arrives in chunks of ``chunk_s`` at real-time pace (chunk ``j`` is available at wall-clock
``min(j * chunk_s, duration)``). Whenever the decoder is free it takes all audio that has arrived,
re-decodes its buffer, and emits a hypothesis at ``start + decode time``; if decoding is slower
than real time it falls behind and skips straight to the newest audio, as a live system would.
Decode times are measured (``clock``), so latencies include the model's real speed; nothing sleeps.

:class:`LocalAgreement` is the policy of whisper_streaming (Macháček et al., 2023): words that two
consecutive hypotheses agree on (longest common prefix) become final ("committed"); the rest stay
tentative and may be revised. When the buffer grows past ``max_buffer_s`` it is cut at the end of
the last committed word (this needs word timestamps; without them the buffer is never cut).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modellab.metrics.normalizers import get_normalizer
from modellab.types import Audio, Transcript

__all__ = ["LocalAgreement", "StreamEvent", "StreamResult", "TimedWord", "chunk_arrivals"]

_BASIC = get_normalizer("basic")


@dataclass
class TimedWord:
    word: str
    start: float | None = None  # seconds from the start of the stream (None: the model gave no times)
    end: float | None = None

    @property
    def key(self) -> str:
        return _BASIC(self.word)


@dataclass
class StreamEvent:
    """One hypothesis as shown to a user at simulated wall-clock time ``t`` (seconds from stream start)."""

    t: float
    audio_s: float  # audio received when the decode that produced it started
    text: str  # committed words followed by tentative ones
    committed: int  # how many leading words of ``text`` are final
    final: bool = False  # the end-of-stream hypothesis (everything committed)


@dataclass
class StreamResult:
    events: list[StreamEvent] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)  # the final transcript
    decodes: int = 0
    decode_s: float = 0.0  # summed measured decode time

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def chunk_arrivals(duration_s: float, chunk_s: float) -> list[float]:
    """Wall-clock arrival time of each chunk: ``chunk_s, 2 * chunk_s, ...``, the last at ``duration_s``."""
    if chunk_s <= 0:
        raise ValueError(f"chunk_s must be positive, got {chunk_s}")
    arrivals = []
    j = 1
    while j * chunk_s < duration_s - 1e-9:
        arrivals.append(j * chunk_s)
        j += 1
    arrivals.append(duration_s)
    return arrivals


def _words(transcript: Transcript, offset_s: float) -> list[TimedWord]:
    if transcript.words:
        return [TimedWord(w.word, w.start + offset_s, w.end + offset_s) for w in transcript.words if _BASIC(w.word)]
    return [TimedWord(w) for w in transcript.text.split() if _BASIC(w)]


def _common_prefix(a: list[TimedWord], b: list[TimedWord]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n].key == b[n].key:
        n += 1
    return n


@dataclass
class LocalAgreement:
    """Commit the longest common prefix of consecutive hypotheses (LocalAgreement-2).

    ``decode`` is the model call (audio -> transcript); ``clock`` returns seconds and is read
    around each decode (``time.perf_counter`` by default; tests pass a scripted one).
    """

    chunk_s: float
    max_buffer_s: float
    overlap_tolerance_s: float  # a re-decoded word starting this much before the last committed end is old
    decode: Callable[[Audio], Transcript]
    clock: Callable[[], float] = time.perf_counter

    def run(self, audio: Audio) -> StreamResult:
        sr = audio.sample_rate
        result = StreamResult()
        committed: list[TimedWord] = []
        in_buffer = 0  # committed words that lie inside the current buffer (untimed fallback)
        tentative: list[TimedWord] = []
        previous: list[TimedWord] | None = None
        buffer_start = 0.0
        arrivals = chunk_arrivals(audio.duration_s, self.chunk_s)
        now = 0.0
        consumed = 0
        while consumed < len(arrivals):
            arrived = sum(1 for a in arrivals if a <= now + 1e-9)
            if arrived <= consumed:  # nothing new: wait for the next chunk
                now = arrivals[consumed]
                arrived = consumed + 1
            consumed = arrived
            received = arrivals[consumed - 1]
            buffer = Audio(audio.samples[int(round(buffer_start * sr)) : int(round(received * sr))], sr)
            started = self.clock()
            transcript = self.decode(buffer)
            spent = self.clock() - started
            now += spent
            result.decodes += 1
            result.decode_s += spent

            hypothesis = self._new_words(_words(transcript, buffer_start), committed, in_buffer)
            agreed = _common_prefix(previous, hypothesis) if previous is not None else 0
            committed += hypothesis[:agreed]
            in_buffer += agreed
            tentative = hypothesis[agreed:]
            previous = tentative
            shown = committed + tentative
            result.events.append(StreamEvent(now, received, " ".join(w.word for w in shown), len(committed)))

            if received - buffer_start > self.max_buffer_s and committed and committed[-1].end is not None:
                cut = committed[-1].end
                if cut > buffer_start:
                    buffer_start, in_buffer = cut, 0
        committed += tentative  # end of stream: what is left is final
        result.words = committed
        result.events.append(StreamEvent(now, audio.duration_s, result.text, len(committed), final=True))
        return result

    def _new_words(self, words: list[TimedWord], committed: list[TimedWord], in_buffer: int) -> list[TimedWord]:
        """The part of a re-decoded buffer that is not already committed."""
        if not committed:
            return words
        timed = bool(words) and words[0].start is not None and committed[-1].end is not None
        if timed:
            last_end = committed[-1].end
            words = [w for w in words if w.start is not None and w.start >= last_end - self.overlap_tolerance_s]
            # a committed tail re-recognised at the head of the buffer (up to 5 words) is dropped
            near = bool(words) and words[0].start is not None and words[0].start - last_end < 1.0
            for n in range(min(5, len(committed), len(words)) if near else 0, 0, -1):
                if [w.key for w in committed[-n:]] == [w.key for w in words[:n]]:
                    return words[n:]
            return words
        return words[in_buffer:]  # no word times: the committed words are assumed re-decoded as they were

    def describe(self) -> dict[str, Any]:
        return {"policy": "local_agreement", "chunk_s": self.chunk_s, "max_buffer_s": self.max_buffer_s}
