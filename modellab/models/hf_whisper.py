"""Whisper through Hugging Face transformers (``generate``), batched across inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.config.schema import ConfigError
from modellab.models.base import ASRModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript

__all__ = ["HFWhisperModel", "HFWhisperOptions"]

_WINDOW_S = 30.0  # Whisper's input window; longer inputs use transformers' sequential long-form decoding


@dataclass
class HFWhisperOptions:
    language: str | None  # null: English-only checkpoints, or detect (multilingual)
    task: str  # transcribe | translate (multilingual checkpoints only)
    num_beams: int
    batch_size: int  # inputs per generate() call in predict_batch
    max_new_tokens: int
    return_timestamps: bool  # segment timestamps (always on for inputs longer than 30 s)


class HFWhisperModel(ASRModel):
    """``AutoProcessor`` + ``AutoModelForSpeechSeq2Seq`` from a hub id or a local ``save_pretrained`` folder."""

    Options = HFWhisperOptions

    # set by modellab.models.hf_common.load_processor_and_model
    torch: Any
    dtype: Any
    processor: Any
    model: Any
    rate: int

    def load(self) -> None:
        from transformers import AutoModelForSpeechSeq2Seq

        from modellab.models.hf_common import load_processor_and_model

        path = resolve_weights(self.weights, self.name)
        load_processor_and_model(self, path, AutoModelForSpeechSeq2Seq)
        self.multilingual = bool(getattr(self.model.generation_config, "is_multilingual", True))
        o = self.options
        if not self.multilingual and (o.language not in (None, "en") or o.task != "transcribe"):
            raise ConfigError(
                f"conf/model/{self.name}.yaml options: checkpoint '{path}' is English-only; "
                f"it cannot take language={o.language!r} task={o.task!r} (use language: null, task: transcribe)"
            )

    def generate_kwargs(self, long_form: bool) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {
            "num_beams": o.num_beams,
            "max_new_tokens": o.max_new_tokens,
            "return_timestamps": o.return_timestamps or long_form,
        }
        if self.multilingual:
            kwargs["task"] = o.task
            if o.language:
                kwargs["language"] = o.language
        return kwargs

    def predict(self, inputs: Audio) -> Transcript:
        return self.predict_batch([inputs])[0]

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import in_batches

        return in_batches(batch, self.options.batch_size, self._generate)

    def _generate(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import as_rate

        arrays = [as_rate(a, self.rate) for a in batch]
        long_form = max(len(a) for a in arrays) > _WINDOW_S * self.rate
        extra = {"truncation": False, "padding": "longest", "return_attention_mask": True} if long_form else {}
        features = self.processor(arrays, sampling_rate=self.rate, return_tensors="pt", **extra)
        kwargs = self.generate_kwargs(long_form)
        if long_form:
            kwargs["attention_mask"] = features["attention_mask"].to(self.device.torch_device)
        input_features = features["input_features"].to(self.device.torch_device, self.dtype)
        with self.torch.inference_mode():
            ids = self.model.generate(input_features, **kwargs)
        ids = ids["sequences"] if isinstance(ids, dict) else ids
        tokenizer = self.processor.tokenizer
        results = []
        for row in ids:
            if kwargs["return_timestamps"]:
                decoded = tokenizer.decode(row, skip_special_tokens=True, output_offsets=True)
                text = decoded["text"] if isinstance(decoded, dict) else str(decoded)
                offsets = decoded.get("offsets", []) if isinstance(decoded, dict) else []
                segments = [
                    {"start": float(o["timestamp"][0]), "end": float(o["timestamp"][1]), "text": o["text"].strip()}
                    for o in offsets
                ]
            else:
                text = tokenizer.decode(row, skip_special_tokens=True)
                segments = []
            results.append(Transcript(text=text.strip(), segments=segments, language=self.options.language))
        return results
