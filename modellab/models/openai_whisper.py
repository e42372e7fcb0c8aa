"""openai-whisper (the reference PyTorch implementation) adapter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellab.models.base import ASRModel
from modellab.models.weights import WeightsNotFoundError, resolve_weights
from modellab.types import SAMPLE_RATE, Audio, Transcript, Word

__all__ = ["OpenAIWhisperModel", "OpenAIWhisperOptions"]


@dataclass
class OpenAIWhisperOptions:
    language: str | None
    task: str  # transcribe | translate (to English)
    beam_size: int | None  # null: greedy decoding
    best_of: int | None  # candidates when sampling at temperature > 0
    temperature: float
    sample_len: int | None  # most tokens decoded per 30 s window (null: half the text context, 224)
    condition_on_previous_text: bool
    word_timestamps: bool
    fp16: bool  # half precision (CUDA only; ignored on CPU)


def _mask_size(dump: str | bytes) -> int:
    """Entries of an openai-whisper alignment-heads dump (base85 of a gzipped [layer, head] mask)."""
    import base64
    import gzip

    return len(gzip.decompress(base64.b85decode(dump)))


class OpenAIWhisperModel(ASRModel):
    """``whisper.load_model(<checkpoint .pt>)`` then ``model.transcribe``.

    ``weights.path`` is the checkpoint file (the ``<name>.pt`` that ``whisper.load_model(name)``
    downloads into ``~/.cache/whisper``) or the directory holding ``<weights.revision>.pt``.
    """

    Options = OpenAIWhisperOptions

    def checkpoint_path(self) -> Path:
        path = Path(resolve_weights(self.weights, self.name))
        if path.is_dir():
            path = path / f"{self.weights.revision}.pt"
            if not path.is_file():
                raise WeightsNotFoundError(
                    f"model '{self.name}': no checkpoint {path.name} in {path.parent}. "
                    f"Copy it there or point model.weights.path at the .pt file"
                )
        return path

    def load(self) -> None:
        import torch
        from whisper import _ALIGNMENT_HEADS
        from whisper.model import ModelDimensions, Whisper

        # whisper.load_model(path) would drop the word-timestamp alignment heads, which it knows
        # only for downloads by name: take them from the checkpoint, else by weights.revision
        # (when they fit this checkpoint's decoder); otherwise Whisper's default (last half of layers).
        checkpoint = torch.load(self.checkpoint_path(), map_location="cpu", weights_only=True)
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
        heads = checkpoint.get("alignment_heads") or _ALIGNMENT_HEADS.get(self.weights.revision or "")
        if heads and _mask_size(heads) == model.dims.n_text_layer * model.dims.n_text_head:
            model.set_alignment_heads(heads.encode() if isinstance(heads, str) else heads)
        self.model = model.to(self.device.torch_device)

    def transcribe_kwargs(self) -> dict[str, Any]:
        o = self.options
        return {
            "language": o.language,
            "task": o.task,
            "beam_size": o.beam_size,
            "best_of": o.best_of,
            "temperature": o.temperature,
            "sample_len": o.sample_len,
            "condition_on_previous_text": o.condition_on_previous_text,
            "word_timestamps": o.word_timestamps,
            "fp16": o.fp16 and self.device.kind == "cuda",
            "verbose": None,
        }

    def predict(self, inputs: Audio) -> Transcript:
        from modellab.models.hf_common import as_rate

        result = self.model.transcribe(as_rate(inputs, SAMPLE_RATE), **self.transcribe_kwargs())
        segments = result.get("segments") or []
        words = [
            Word(w["word"].strip(), float(w["start"]), float(w["end"]), float(w.get("probability", 0.0)))
            for seg in segments
            for w in seg.get("words") or []
        ]
        return Transcript(
            text=str(result.get("text", "")).strip(),
            segments=[
                {"start": float(s["start"]), "end": float(s["end"]), "text": s["text"].strip()} for s in segments
            ],
            words=words,
            language=result.get("language"),
        )
