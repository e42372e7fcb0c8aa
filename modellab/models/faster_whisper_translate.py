"""faster-whisper in Whisper's ``translate`` mode: speech in any of its languages, English text out.

The same adapter as :class:`~modellab.models.faster_whisper.FasterWhisperModel`, registered as a
:class:`~modellab.models.base.TranslationModel`; ``options.task`` must be ``translate`` and the
checkpoint multilingual (``*.en`` checkpoints cannot translate). ``translate(audio, source_language)``
lets the translation task name the source language instead of Whisper detecting it.
"""

from __future__ import annotations

from typing import Any

from modellab.config.schema import ConfigError
from modellab.models.base import TranslationModel
from modellab.models.faster_whisper import FasterWhisperModel
from modellab.types import Audio, Transcript

__all__ = ["FasterWhisperTranslateModel"]


class FasterWhisperTranslateModel(FasterWhisperModel, TranslationModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options.task != "translate":
            raise ConfigError(
                f"conf/model/{self.name}.yaml options.task must be 'translate' for this adapter, "
                f"got '{self.options.task}'"
            )
        if str(self.weights.revision or "").endswith(".en"):
            raise ConfigError(
                f"conf/model/{self.name}.yaml: weights revision '{self.weights.revision}' is English-only "
                f"and cannot translate; use a multilingual checkpoint"
            )

    def load(self) -> None:
        super().load()
        if not self.model.model.is_multilingual:
            raise ConfigError(f"model '{self.name}': the checkpoint is English-only and cannot translate")

    def translate(self, audio: Audio, source_language: str) -> Transcript:
        """Translate speech whose language is known (ISO 639-1, e.g. ``fr``), skipping language detection."""
        return self.predict(audio, language=source_language)
