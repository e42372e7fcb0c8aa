"""faster-whisper (CTranslate2) adapter; batched inference with ``batch_size`` > 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.models.base import ASRModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript, Word

__all__ = ["AUTO", "FROM_SAMPLE", "FasterWhisperModel", "FasterWhisperOptions"]


FROM_SAMPLE = "from_sample"  # options.language: each sample's own language (its dataset's / manifest's)
AUTO = "auto"  # options.language: Whisper detects the language (as null)


@dataclass
class FasterWhisperOptions:
    language: str | None  # a code (en, fr, ...): forced; auto or null: detected; from_sample: the sample's
    beam_size: int
    batch_size: int
    temperature: float
    condition_on_previous_text: bool
    vad_filter: bool
    word_timestamps: bool
    chunk_length: int | None
    task: str = "transcribe"  # or "translate" (to English)


class FasterWhisperModel(ASRModel):
    Options = FasterWhisperOptions
    spoken_language: str | None = None  # the current sample's language (set by the ASR task)

    def set_spoken_language(self, language: str | None) -> None:
        """The language of the next inputs, used where ``options.language`` is ``from_sample``."""
        self.spoken_language = language

    def decoding_language(self) -> str | None:
        """The ``language=`` given to ``transcribe``: forced, the sample's, or None (detect)."""
        language = self.options.language
        if language == FROM_SAMPLE:
            return self.spoken_language
        return None if language in (None, AUTO) else language

    def load(self) -> None:
        import logging

        from faster_whisper import BatchedInferencePipeline, WhisperModel

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)

        path = resolve_weights(self.weights, self.name)
        self.model = WhisperModel(
            path,
            device=self.device.kind,
            device_index=self.device.index,
            compute_type=self.device.compute_type,
            cpu_threads=self.device.threads,
            num_workers=1,
        )
        self.pipeline = BatchedInferencePipeline(self.model) if self.options.batch_size > 1 else None

    def transcribe_kwargs(self, **overrides: Any) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {
            "language": self.decoding_language(),
            "beam_size": o.beam_size,
            "temperature": o.temperature,
            "vad_filter": o.vad_filter,
            "word_timestamps": o.word_timestamps,
            "task": o.task,
        }
        if o.chunk_length:
            kwargs["chunk_length"] = o.chunk_length
        if self.pipeline is not None:
            kwargs["batch_size"] = o.batch_size
        else:
            kwargs["condition_on_previous_text"] = o.condition_on_previous_text
        kwargs.update(overrides)
        return kwargs

    def predict(self, inputs: Audio, **overrides: Any) -> Transcript:
        engine = self.pipeline or self.model
        segments, info = engine.transcribe(inputs.samples, **self.transcribe_kwargs(**overrides))
        segs = list(segments)
        words = [
            Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
            for s in segs
            for w in (s.words or [])
        ]
        return Transcript(
            text="".join(s.text for s in segs).strip(),
            segments=[{"start": float(s.start), "end": float(s.end), "text": s.text.strip()} for s in segs],
            words=words,
            language=info.language,
        )
