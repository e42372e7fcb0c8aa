"""Voice-to-voice models: speech in, speech out. The cascade chains registered models
ASR -> (optional speech translation) -> TTS and times every stage."""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellab.models.base import ASRModel, Model, TranslationModel, TTSModel
from modellab.types import Audio

__all__ = ["CascadeOptions", "CascadeV2V", "V2VResult", "VoiceToVoiceModel"]


@dataclass
class V2VResult:
    audio: Audio
    transcript: str  # what the ASR stage heard
    translation: str | None  # the translation stage's text (None without one)
    tts_text: str  # what was spoken
    stages_s: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    first_audio_s: float | None = None  # call start to the first output chunk (streaming TTS only)


class VoiceToVoiceModel(Model):
    @abstractmethod
    def predict(self, inputs: Audio) -> V2VResult: ...


@dataclass
class CascadeOptions:
    asr: str  # a conf/model name with the asr capability
    translation: str | None  # a speech-translation model (audio in, text out) or null
    tts: str  # a conf/model name with the tts capability
    streaming: bool  # stream the TTS stage where the model can (end-to-end time to first audio)


class CascadeV2V(VoiceToVoiceModel):
    """Each stage is a registered model, loaded once per process (shared with other runs)."""

    Options = CascadeOptions

    def _stages(self) -> dict[str, Model]:
        """Instantiate (cheaply, nothing loaded) the stage models named in the options."""
        if getattr(self, "_stage_models", None) is None:
            from modellab.models.compose import load_registered

            # stage -> (conf/model name, the model class(es) it must be an instance of)
            wanted: dict[str, tuple[str, type[Model] | tuple[type[Model], ...]]] = {
                "asr": (self.options.asr, ASRModel),
                "tts": (self.options.tts, TTSModel),
            }
            if self.options.translation:
                wanted["translation"] = (self.options.translation, (TranslationModel, ASRModel))
            stages: dict[str, Model] = {}
            for stage, (name, kind) in wanted.items():
                model = load_registered("model", name)
                if not isinstance(model, kind):
                    raise TypeError(
                        f"conf/model/{self.name}.yaml options.{stage}: '{name}' is a {type(model).__name__}, "
                        f"which cannot be the {stage} stage"
                    )
                stages[stage] = model
            self._stage_models = stages
        return self._stage_models

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["stages"] = {stage: model.identity() for stage, model in self._stages().items()}
        return ident

    def check_requirements(self) -> None:
        super().check_requirements()
        for model in self._stages().values():
            model.check_requirements()

    def load(self) -> None:
        from modellab.models.compose import load_set_up

        self.stage = {name: load_set_up(model, self.device) for name, model in self._stages().items()}

    def predict(self, inputs: Audio) -> V2VResult:
        from modellab.models.compose import synthesize

        start = time.perf_counter()
        transcript = self.stage["asr"].predict(inputs).text
        stages = {"asr_s": time.perf_counter() - start}
        translation = None
        if "translation" in self.stage:
            t = time.perf_counter()
            translation = self.stage["translation"].predict(inputs).text
            stages["translation_s"] = time.perf_counter() - t
        text = (translation if translation is not None else transcript).strip()
        t = time.perf_counter()
        if text:
            spoken = synthesize(self.stage["tts"], text, self.options.streaming)
            audio, tts_first = spoken.audio, spoken.first_audio_s
        else:  # nothing heard: nothing to say
            audio, tts_first = Audio(np.zeros(0, dtype=np.float32)), None
        stages["tts_s"] = time.perf_counter() - t
        first = (t - start) + tts_first if tts_first is not None else None
        return V2VResult(audio, transcript, translation, text, stages, first)
