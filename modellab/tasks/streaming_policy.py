"""Streaming policies: turn an offline ASR model into a streaming one, on a simulated real-time clock.

Audio arrives in chunks of ``chunk_s`` at real-time pace (chunk ``j`` is available at wall-clock
``min(j * chunk_s, duration)``). Whenever the decoder is free it takes all audio that has arrived
and the policy decides what to decode; a hypothesis is shown at ``start + decode time``. If
decoding is slower than real time the decoder falls behind and skips straight to the newest
audio, as a live system would. Decode times are measured (``clock``), so latencies include the
model's real speed; nothing sleeps.

- :class:`LocalAgreement` (sliding-window re-decoding, as whisper_streaming, Macháček et al.
  2023): words that two consecutive hypotheses agree on (longest common prefix) become final
  ("committed"); the rest stay tentative and may be revised. Past ``max_buffer_s`` the buffer is
  cut at the end of the last committed word (needs word timestamps; without them it is not cut).
- :class:`VadEndpoint` (VAD-triggered): the current utterance is re-decoded for partials; when
  its trailing silence reaches ``min_silence_s`` (an energy VAD) or it reaches ``max_buffer_s``,
  its hypothesis is committed and the next utterance starts. Silence alone is never decoded.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellab.metrics.normalizers import get_normalizer
from modellab.types import Audio, Transcript

__all__ = [
    "LocalAgreement",
    "StreamEvent",
    "StreamResult",
    "StreamingPolicy",
    "TimedWord",
    "VadEndpoint",
    "chunk_arrivals",
]

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


@dataclass(kw_only=True)
class StreamingPolicy(ABC):
    """The real-time loop shared by the policies; subclasses decide what to decode and commit.

    ``decode`` is the model call (audio -> transcript); ``clock`` returns seconds and is read
    around each decode (``time.perf_counter`` by default; tests pass a scripted one).
    """

    chunk_s: float
    max_buffer_s: float
    decode: Callable[[Audio], Transcript]
    clock: Callable[[], float] = time.perf_counter

    def run(self, audio: Audio) -> StreamResult:
        self._audio, self._result, self._now = audio, StreamResult(), 0.0
        self.committed: list[TimedWord] = []
        self.tentative: list[TimedWord] = []
        self.reset()
        arrivals = chunk_arrivals(audio.duration_s, self.chunk_s)
        consumed = 0
        while consumed < len(arrivals):
            arrived = sum(1 for a in arrivals if a <= self._now + 1e-9)
            if arrived <= consumed:  # nothing new: wait for the next chunk
                self._now = arrivals[consumed]
                arrived = consumed + 1
            consumed = arrived
            received = arrivals[consumed - 1]
            if self.step(received, last=consumed == len(arrivals)):
                shown = self.committed + self.tentative
                text = " ".join(w.word for w in shown)
                self._result.events.append(StreamEvent(self._now, received, text, len(self.committed)))
        self.committed += self.tentative  # end of stream: what is left is final
        self.tentative = []
        result = self._result
        result.words = self.committed
        result.events.append(StreamEvent(self._now, audio.duration_s, result.text, len(self.committed), final=True))
        return result

    def transcribe(self, start_s: float, end_s: float) -> list[TimedWord]:
        """Decode audio ``[start_s, end_s)`` (the decoder is busy meanwhile); word times are absolute."""
        sr = self._audio.sample_rate
        buffer = Audio(self._audio.samples[int(round(start_s * sr)) : int(round(end_s * sr))], sr)
        started = self.clock()
        transcript = self.decode(buffer)
        spent = self.clock() - started
        self._now += spent
        self._result.decodes += 1
        self._result.decode_s += spent
        return _words(transcript, start_s)

    @abstractmethod
    def reset(self) -> None:
        """Set up the per-stream state."""

    @abstractmethod
    def step(self, received: float, last: bool) -> bool:
        """Audio up to ``received`` is in; update committed/tentative words. True if a hypothesis is shown."""

    def describe(self) -> dict[str, Any]:
        return {"policy": type(self).__name__, "chunk_s": self.chunk_s, "max_buffer_s": self.max_buffer_s}


@dataclass(kw_only=True)
class LocalAgreement(StreamingPolicy):
    """Commit the longest common prefix of consecutive hypotheses (LocalAgreement-2)."""

    overlap_tolerance_s: float  # a re-decoded word starting this much before the last committed end is old

    def reset(self) -> None:
        self.buffer_start = 0.0
        self.in_buffer = 0  # committed words that lie inside the current buffer (untimed fallback)
        self.previous: list[TimedWord] | None = None

    def step(self, received: float, last: bool) -> bool:
        hypothesis = self._new_words(self.transcribe(self.buffer_start, received))
        agreed = _common_prefix(self.previous, hypothesis) if self.previous is not None else 0
        self.committed += hypothesis[:agreed]
        self.in_buffer += agreed
        self.tentative = self.previous = hypothesis[agreed:]
        if received - self.buffer_start > self.max_buffer_s and self.committed and self.committed[-1].end is not None:
            cut = self.committed[-1].end
            if cut > self.buffer_start:
                self.buffer_start, self.in_buffer = cut, 0
        return True

    def _new_words(self, words: list[TimedWord]) -> list[TimedWord]:
        """The part of a re-decoded buffer that is not already committed."""
        committed = self.committed
        if not committed:
            return words
        last_end = committed[-1].end
        if words and words[0].start is not None and last_end is not None:
            words = [w for w in words if w.start is not None and w.start >= last_end - self.overlap_tolerance_s]
            # a committed tail re-recognised at the head of the buffer (up to 5 words) is dropped
            head = words[0].start if words else None
            near = head is not None and head - last_end < 1.0
            for n in range(min(5, len(committed), len(words)) if near else 0, 0, -1):
                if [w.key for w in committed[-n:]] == [w.key for w in words[:n]]:
                    return words[n:]
            return words
        return words[self.in_buffer :]  # no word times: the committed words are assumed re-decoded as they were


@dataclass(kw_only=True)
class VadEndpoint(StreamingPolicy):
    """Decode the current utterance for partials; commit it at an endpoint (trailing silence)."""

    silence_dbfs: float  # a frame whose RMS is below this is silence
    min_silence_s: float  # trailing silence that ends an utterance
    frame_s: float  # energy VAD frame length

    def reset(self) -> None:
        self.utterance_start = 0.0

    def _silent_frames(self, start_s: float, end_s: float) -> np.ndarray:
        sr = self._audio.sample_rate
        x = self._audio.samples[int(round(start_s * sr)) : int(round(end_s * sr))].astype(np.float64)
        frame = max(1, int(round(self.frame_s * sr)))
        n = len(x) // frame
        if n == 0:
            return np.ones(0, dtype=bool)
        rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
        with np.errstate(divide="ignore"):
            return 20 * np.log10(np.maximum(rms, 1e-12)) < self.silence_dbfs

    def step(self, received: float, last: bool) -> bool:
        silent = self._silent_frames(self.utterance_start, received)
        if silent.size and silent.all():  # nothing but silence: keep at most the endpoint window
            self.utterance_start = max(self.utterance_start, received - self.min_silence_s)
            return False
        trailing = 0
        while trailing < silent.size and silent[silent.size - 1 - trailing]:
            trailing += 1
        endpoint = (
            last
            or trailing * self.frame_s >= self.min_silence_s
            or received - self.utterance_start >= self.max_buffer_s
        )
        words = self.transcribe(self.utterance_start, received)
        if endpoint:
            self.committed += words
            self.tentative = []
            self.utterance_start = received
        else:
            self.tentative = words
        return True
