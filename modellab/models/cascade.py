"""Voice-to-voice models: speech in, speech out. The cascade chains registered models
ASR -> (optional speech translation) -> TTS and times every stage."""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np

from modellab.models.base import ASRModel, Model, TranslationModel, TTSModel
from modellab.models.stages import StagedModel, StageSpec
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


class CascadeV2V(VoiceToVoiceModel, StagedModel):
    """Each stage is a registered model, loaded once per process (shared with other runs)."""

    Options = CascadeOptions

    def wanted_stages(self) -> dict[str, StageSpec]:
        wanted: dict[str, StageSpec] = {
            "asr": (self.options.asr, ASRModel, {}),
            "tts": (self.options.tts, TTSModel, {}),
        }
        if self.options.translation:
            wanted["translation"] = (self.options.translation, (TranslationModel, ASRModel), {})
        return wanted

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
