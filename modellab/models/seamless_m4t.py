"""SeamlessM4T (v1 and v2) speech-to-text through transformers: ASR and speech translation.

The model writes text in ``options.target_language`` (a three-letter code such as ``eng``,
``fra``, ``deu``). Speech in that language gives a transcript (``task=asr``); speech in any
other language gives a translation (``task=translation``). One config serves both tasks
because the English reference sets of both need ``target_language: eng``; override it for
other directions: ``model.options.target_language=fra``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.models.base import ASRModel, TranslationModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript

__all__ = ["SeamlessM4TModel", "SeamlessM4TOptions"]

# transformers class per checkpoint type (config.json's model_type): the speech-to-text half only.
_SPEECH_TO_TEXT = {
    "seamless_m4t": "SeamlessM4TForSpeechToText",
    "seamless_m4t_v2": "SeamlessM4Tv2ForSpeechToText",
}


@dataclass
class SeamlessM4TOptions:
    target_language: str  # output text language (ISO 639-3): eng, fra, deu, spa, ...
    num_beams: int
    max_new_tokens: int
    batch_size: int  # inputs per generate() call in predict_batch


class SeamlessM4TModel(ASRModel, TranslationModel):
    Options = SeamlessM4TOptions

    # set by modellab.models.hf_common.load_processor_and_model
    torch: Any
    dtype: Any
    processor: Any
    model: Any
    rate: int

    def load(self) -> None:
        import transformers
        from transformers import AutoConfig

        from modellab.models.hf_common import load_processor_and_model

        path = resolve_weights(self.weights, self.name)
        model_type = AutoConfig.from_pretrained(path).model_type
        if model_type not in _SPEECH_TO_TEXT:
            raise ValueError(
                f"model '{self.name}': {path} holds a '{model_type}' checkpoint, not SeamlessM4T "
                f"(expected one of {sorted(_SPEECH_TO_TEXT)})"
            )
        load_processor_and_model(self, path, getattr(transformers, _SPEECH_TO_TEXT[model_type]))
        known = getattr(self.model.generation_config, "text_decoder_lang_to_code_id", None) or {}
        if self.options.target_language not in known:
            raise ValueError(
                f"conf/model/{self.name}.yaml options.target_language '{self.options.target_language}' is not "
                f"a text language of this checkpoint (it has: {', '.join(sorted(known)) or 'none'})"
            )

    def predict(self, inputs: Audio) -> Transcript:
        return self.predict_batch([inputs])[0]

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import in_batches

        return in_batches(batch, self.options.batch_size, self._generate)

    def _generate(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import as_rate

        o = self.options
        arrays = [as_rate(a, self.rate) for a in batch]
        features = self.processor(audio=arrays, sampling_rate=self.rate, return_tensors="pt")
        features = {
            k: v.to(self.device.torch_device, self.dtype) if v.is_floating_point() else v.to(self.device.torch_device)
            for k, v in features.items()
        }
        with self.torch.inference_mode():
            ids = self.model.generate(
                **features, tgt_lang=o.target_language, num_beams=o.num_beams, max_new_tokens=o.max_new_tokens
            )
        ids = ids[0] if isinstance(ids, tuple) else getattr(ids, "sequences", ids)
        texts = self.processor.batch_decode(ids, skip_special_tokens=True)
        return [Transcript(text=t.strip(), language=o.target_language) for t in texts]
