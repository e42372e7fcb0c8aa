"""wav2vec 2.0 (CTC) through transformers: greedy CTC decoding, batched across inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.models.base import ASRModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript

__all__ = ["Wav2Vec2CTCModel", "Wav2Vec2Options"]


@dataclass
class Wav2Vec2Options:
    batch_size: int  # inputs per forward pass in predict_batch (padded to the longest)


class Wav2Vec2CTCModel(ASRModel):
    """``AutoProcessor`` + ``AutoModelForCTC``; argmax over frames, collapsed by the tokenizer."""

    Options = Wav2Vec2Options

    # set by modellab.models.hf_common.load_processor_and_model
    torch: Any
    dtype: Any
    processor: Any
    model: Any
    rate: int

    def load(self) -> None:
        from transformers import AutoModelForCTC

        from modellab.models.hf_common import load_processor_and_model

        load_processor_and_model(self, resolve_weights(self.weights, self.name), AutoModelForCTC)

    def predict(self, inputs: Audio) -> Transcript:
        return self.predict_batch([inputs])[0]

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import in_batches

        return in_batches(batch, self.options.batch_size, self._forward)

    def _forward(self, batch: list[Audio]) -> list[Transcript]:
        from modellab.models.hf_common import as_rate

        arrays = [as_rate(a, self.rate) for a in batch]
        features = self.processor(arrays, sampling_rate=self.rate, return_tensors="pt", padding=True)
        kwargs = {"input_values": features["input_values"].to(self.device.torch_device, self.dtype)}
        if "attention_mask" in features:
            kwargs["attention_mask"] = features["attention_mask"].to(self.device.torch_device)
        with self.torch.inference_mode():
            logits = self.model(**kwargs).logits
        lengths = self.model._get_feat_extract_output_lengths(self.torch.tensor([len(a) for a in arrays]))
        ids = logits.argmax(dim=-1).cpu()
        texts = [self.processor.decode(ids[i, : int(n)], skip_special_tokens=True) for i, n in enumerate(lengths)]
        return [Transcript(text=t.strip(), language=None) for t in texts]
