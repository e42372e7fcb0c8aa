"""Any transformers ``automatic-speech-recognition`` pipeline (distil-whisper, whisper, wav2vec2, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.models.base import ASRModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript

__all__ = ["HFPipelineASRModel", "HFPipelineOptions"]


@dataclass
class HFPipelineOptions:
    batch_size: int  # inputs (or chunks of one long input) per forward pass
    chunk_length_s: float | None  # split long inputs into windows of this many seconds (null: none)
    return_timestamps: bool  # segment timestamps ("chunks")
    generate_kwargs: dict[str, Any]  # passed to generate() for seq2seq models (language, num_beams, ...)


class HFPipelineASRModel(ASRModel):
    """``transformers.pipeline("automatic-speech-recognition", model=<weights>)``; batching is the pipeline's."""

    Options = HFPipelineOptions

    def load(self) -> None:
        from transformers import pipeline

        from modellab.models.hf_common import quiet_transformers, torch_dtype

        quiet_transformers()
        path = resolve_weights(self.weights, self.name)
        self.pipe = pipeline(
            "automatic-speech-recognition", model=path, dtype=torch_dtype(self.device), device=self.device.torch_device
        )
        tokenizer = self.pipe.tokenizer
        if tokenizer is not None and tokenizer.pad_token is None:  # batching pads with it
            tokenizer.pad_token = tokenizer.eos_token
        extractor = self.pipe.feature_extractor
        if extractor is None:
            raise RuntimeError(f"model '{self.name}': the pipeline at {path} has no feature extractor")
        self.rate = int(extractor.sampling_rate)

    def call_kwargs(self) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {"batch_size": o.batch_size}
        if o.chunk_length_s:
            kwargs["chunk_length_s"] = o.chunk_length_s
        if o.return_timestamps:  # CTC pipelines give word timestamps; whisper gives segment timestamps
            kwargs["return_timestamps"] = "word" if self.pipe.type.startswith("ctc") else True
        if o.generate_kwargs and self.pipe.type in ("seq2seq", "seq2seq_whisper"):
            kwargs["generate_kwargs"] = dict(o.generate_kwargs)
        return kwargs

    def predict(self, inputs: Audio) -> Transcript:
        return self.predict_batch([inputs])[0]

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import as_rate

        items = [{"raw": as_rate(a, self.rate), "sampling_rate": self.rate} for a in batch]
        # transformers annotates a single input only; a list of inputs is the documented batch form
        outputs = self.pipe(items, **self.call_kwargs())  # type: ignore[arg-type]
        return [self._transcript(out) for out in outputs]

    def _transcript(self, out: dict[str, Any]) -> Transcript:
        segments = []
        for chunk in out.get("chunks") or []:
            start, end = chunk.get("timestamp") or (None, None)
            if start is None:
                continue
            segments.append(
                {"start": float(start), "end": float(end if end is not None else start), "text": chunk["text"].strip()}
            )
        language = (self.options.generate_kwargs or {}).get("language")
        return Transcript(text=str(out.get("text", "")).strip(), segments=segments, language=language)
