"""The real ``pyannote.audio`` SpeakerDiarization pipeline, from a local pipeline directory
(``config.yaml`` + ``segmentation/`` + ``embedding/`` + ``plda/``, the layout of pyannote's
community-1 release) or a hub id already in the local Hugging Face cache.

No pretrained pyannote weights install from a package registry: point ``model.weights.path``
at a local copy. Telemetry is switched off (``PYANNOTE_METRICS_ENABLED=false``) before the
library is imported. Audio is passed in memory, so torchcodec (file decoding) is not needed.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modellab.models.base import DiarizationModel
from modellab.models.weights import resolve_weights
from modellab.types import Audio, SpeakerTurn

if TYPE_CHECKING:
    from pyannote.audio import Pipeline

__all__ = ["PyannoteDiarization", "PyannoteDiarizationOptions", "import_pyannote_pipeline"]


@dataclass
class PyannoteDiarizationOptions:
    num_speakers: int | None  # null: estimated by the pipeline
    min_speakers: int | None
    max_speakers: int | None
    exclusive: bool  # true: the pipeline's exclusive diarization (no overlapping turns)
    segmentation_batch_size: int
    embedding_batch_size: int


def import_pyannote_pipeline() -> type[Pipeline]:
    """``pyannote.audio.Pipeline`` with telemetry off and the torchcodec warning silenced."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*torchcodec is not installed correctly")
        from pyannote.audio import Pipeline
    return Pipeline


class PyannoteDiarization(DiarizationModel):
    Options = PyannoteDiarizationOptions

    def load(self) -> None:
        import torch

        Pipeline = import_pyannote_pipeline()
        path = resolve_weights(self.weights, self.name)
        pipeline = Pipeline.from_pretrained(path)
        if pipeline is None:
            raise RuntimeError(f"model '{self.name}': pyannote could not load a pipeline from {path}")
        pipeline.to(torch.device(self.device.torch_device))
        pipeline.segmentation_batch_size = self.options.segmentation_batch_size
        pipeline.embedding_batch_size = self.options.embedding_batch_size
        self.pipeline = pipeline

    def predict(self, inputs: Audio) -> list[SpeakerTurn]:
        import torch

        o = self.options
        kwargs = {
            key: value
            for key, value in (
                ("num_speakers", o.num_speakers),
                ("min_speakers", o.min_speakers),
                ("max_speakers", o.max_speakers),
            )
            if value is not None
        }
        waveform = torch.from_numpy(inputs.samples).float().unsqueeze(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random or small checkpoints warn about degenerate statistics
            # pyannote 4 returns a DiarizeOutput (its ``speaker_diarization`` an Annotation), 3.x the Annotation
            output: Any = self.pipeline({"waveform": waveform, "sample_rate": inputs.sample_rate}, **kwargs)
        annotation = getattr(output, "exclusive_speaker_diarization" if o.exclusive else "speaker_diarization", output)
        # the last (zero-padded) chunk can push turns past the end of the audio: clip them
        end_s = inputs.duration_s
        return [
            SpeakerTurn(float(segment.start), min(float(segment.end), end_s), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
            if float(segment.start) < end_s
        ]
