"""Long-form ASR in bounded memory, for any ASR model: the input is cut into windows of about
``window_s`` seconds, each cut at the quietest 50 ms of the ``search_s`` seconds before the
nominal boundary (so words are not split), each window transcribed on its own and the transcripts
joined with their timestamps shifted back. The model then never holds more than one window, so
its working memory no longer grows with the length of the recording.

``window_s: null`` hands the whole input to the model and its own long-form handling
(faster-whisper: sequential 30 s windows, or with ``batch_size`` > 1 and ``vad_filter`` its
VAD-chunked batched pipeline). Both are sweep parameters::

    python -m modellab -m +model=faster_whisper dataset=bench_long_30min_v1 \\
        task.options.long_form.window_s=null,120 model.options.batch_size=1,8 model.options.vad_filter=true
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from modellab.types import Audio, Transcript, Word

__all__ = ["LongFormOptions", "transcribe_in_windows", "window_bounds"]

_FRAME_S = 0.05


@dataclass
class LongFormOptions:
    """Values come from conf/task/asr.yaml ``options.long_form``."""

    window_s: float | None  # null: the whole input in one model call
    search_s: float  # where to look for the quietest cut point, before each nominal boundary


def window_bounds(samples: np.ndarray, sample_rate: int, window_s: float, search_s: float) -> list[tuple[int, int]]:
    """[start, end) sample indices of the windows: each about ``window_s`` long, cut at the
    quietest 50 ms frame within the ``search_s`` before the nominal end."""
    if window_s <= 0:
        raise ValueError(f"long_form.window_s must be > 0 (or null), got {window_s}")
    n = len(samples)
    window = int(window_s * sample_rate)
    if n <= window:
        return [(0, n)]
    frame = max(1, int(_FRAME_S * sample_rate))
    search = min(int(search_s * sample_rate), window // 2)
    bounds = []
    start = 0
    while n - start > window:
        lo, hi = start + window - search, start + window
        frames = (hi - lo) // frame
        if frames >= 1:
            block = samples[lo : lo + frames * frame].reshape(frames, frame).astype(np.float32)
            energy = np.einsum("ij,ij->i", block, block)
            cut = lo + int(np.argmin(energy)) * frame + frame // 2
        else:
            cut = hi
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


def _shift_words(words: list[Any], offset: float) -> list[Word]:
    out = []
    for w in words:
        if isinstance(w, Word):
            out.append(replace(w, start=w.start + offset, end=w.end + offset))
        else:  # a dict from an adapter that returns plain data
            out.append(Word(w["word"], w["start"] + offset, w["end"] + offset, w.get("probability")))
    return out


def transcribe_in_windows(model: Any, audio: Audio, options: LongFormOptions) -> Transcript:
    """``model.predict`` once per window (or once, when ``window_s`` is null or the input fits)."""
    if not options.window_s or audio.duration_s <= options.window_s:
        return model.predict(audio)
    texts: list[str] = []
    segments: list[dict[str, Any]] = []
    words: list[Word] = []
    language = None
    for start, end in window_bounds(audio.samples, audio.sample_rate, options.window_s, options.search_s):
        offset = start / audio.sample_rate
        part = model.predict(Audio(audio.samples[start:end], audio.sample_rate))
        if part.text.strip():
            texts.append(part.text.strip())
        for seg in part.segments:
            segments.append({**seg, "start": seg["start"] + offset, "end": seg["end"] + offset})
        words += _shift_words(part.words, offset)
        language = language or part.language
    return Transcript(text=" ".join(texts), segments=segments, words=words, language=language)
