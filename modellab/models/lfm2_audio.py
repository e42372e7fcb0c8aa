"""LFM2.5-Audio (Liquid AI) through the vendor's ``liquid-audio`` package: ASR and TTS.

One checkpoint does both, selected by a system prompt: ``Perform ASR.`` for speech → text,
``Perform TTS. Use the <voice> voice.`` for text → speech (24 kHz). ``predict`` follows its input:
audio in → :class:`~modellab.types.Transcript`, text in → :class:`~modellab.types.Audio`.

``liquid-audio`` needs Python ≥ 3.12 and torchaudio/torchcodec, whose wheels pull a CUDA torch
beside the CPU torch pinned here, so the ``[lfm_audio]`` extra is not part of ``[all]`` and the
model cannot run on the lab's Python 3.11 machines; selecting it there fails before loading with
the install line. On a Python ≥ 3.12 machine with network: ``pip install -e '.[lfm_audio]'`` and
``huggingface-cli download LiquidAI/LFM2.5-Audio-1.5B``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, overload

from modellab.models.base import ASRModel, MissingExtraError, TTSModel
from modellab.models.weights import resolve_weights
from modellab.types import SAMPLE_RATE, Audio, Transcript

__all__ = ["LFM2AudioModel", "LFM2AudioOptions", "MIN_PYTHON"]

MIN_PYTHON = (3, 12)
_OUTPUT_RATE = 24_000  # the audio detokenizer's rate


@dataclass
class LFM2AudioOptions:
    asr_prompt: str  # system prompt of the ASR mode
    tts_prompt: str  # system prompt of the TTS mode (it names the voice)
    max_new_tokens: int
    audio_temperature: float  # TTS sampling
    audio_top_k: int


class LFM2AudioModel(ASRModel, TTSModel):
    Options = LFM2AudioOptions

    def check_requirements(self) -> None:
        self.check_python()
        super().check_requirements()

    def check_python(self) -> None:
        """liquid-audio declares Python >= 3.12; refuse with the reason rather than a failed import."""
        if sys.version_info < MIN_PYTHON:
            raise MissingExtraError(
                f"model '{self.name}' needs liquid-audio, which requires Python >= "
                f"{'.'.join(map(str, MIN_PYTHON))} (this is {sys.version.split()[0]}). On a Python >= 3.12 "
                f"environment install it with: .venv/bin/pip install -e '.[{self.info.extra}]'"
            )

    def load(self) -> None:
        import torch
        from liquid_audio import LFM2AudioModel as Backbone
        from liquid_audio import LFM2AudioProcessor

        path = resolve_weights(self.weights, self.name)
        device = self.device.torch_device
        self.torch = torch
        self.processor = LFM2AudioProcessor.from_pretrained(path, device=device).eval()
        self.model = Backbone.from_pretrained(path, device=device).eval()

    def _chat(self, system_prompt: str) -> Any:
        from liquid_audio import ChatState

        chat = ChatState(self.processor)
        chat.new_turn("system")
        chat.add_text(system_prompt)
        chat.end_turn()
        chat.new_turn("user")
        return chat

    @overload
    def predict(self, inputs: Audio) -> Transcript: ...

    @overload
    def predict(self, inputs: str) -> Audio: ...

    def predict(self, inputs: Audio | str) -> Transcript | Audio:
        if isinstance(inputs, str):
            return self.synthesize(inputs)
        return self.transcribe(inputs)

    def transcribe(self, audio: Audio) -> Transcript:
        from modellab.models.hf_common import as_rate

        chat = self._chat(self.options.asr_prompt)
        wave = self.torch.from_numpy(as_rate(audio, SAMPLE_RATE)).unsqueeze(0)
        chat.add_audio(wave, SAMPLE_RATE)
        chat.end_turn()
        chat.new_turn("assistant")
        pieces = []
        with self.torch.inference_mode():
            for token in self.model.generate_sequential(**chat, max_new_tokens=self.options.max_new_tokens):
                if token.numel() == 1:
                    pieces.append(self.processor.text.decode(token))
        text = "".join(pieces).replace("<|im_end|>", "").strip()
        return Transcript(text=text, language=None)

    def synthesize(self, text: str) -> Audio:
        import numpy as np

        o = self.options
        chat = self._chat(o.tts_prompt)
        chat.add_text(text)
        chat.end_turn()
        chat.new_turn("assistant")
        frames = []
        with self.torch.inference_mode():
            for token in self.model.generate_sequential(
                **chat,
                max_new_tokens=o.max_new_tokens,
                audio_temperature=o.audio_temperature,
                audio_top_k=o.audio_top_k,
            ):
                if token.numel() > 1:
                    frames.append(token)
            if len(frames) < 2:  # the last frame is the end-of-audio code
                return Audio(np.zeros(0, dtype=np.float32), _OUTPUT_RATE)
            codes = self.torch.stack(frames[:-1], 1).unsqueeze(0)
            waveform = self.processor.decode(codes)
        return Audio(waveform.float().cpu().numpy()[0].astype(np.float32), _OUTPUT_RATE)
