"""LFM2.5-Audio: liquid-audio cannot install here (Python >= 3.12), so the adapter's plumbing is
checked against a stand-in ``liquid_audio`` module that follows the vendor API shape
(ChatState, generate_sequential yielding 1-entry text tokens and 8-entry audio frames,
processor.text.decode, processor.decode → 24 kHz waveform). Nothing here is a model output."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Mapping

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.device import Device
from modellab.models import lfm2_audio
from modellab.types import Audio, Transcript

torch = pytest.importorskip("torch")

TEXT = {1: "Ten", 2: " of", 3: " clubs.", 9: "<|im_end|>"}


class _Text:
    def decode(self, token) -> str:  # noqa: ANN001
        return TEXT[int(token)]


class _Processor:
    text = _Text()

    @classmethod
    def from_pretrained(cls, path, device="cuda"):  # noqa: ANN001, ANN206
        cls.loaded_from = (str(path), device)
        return cls()

    def eval(self):  # noqa: ANN201
        return self

    def decode(self, codes):  # noqa: ANN001, ANN201
        assert codes.shape[:2] == (1, 8)
        return torch.ones(1, 1920 * codes.shape[2])  # 1920 samples per frame at 24 kHz (12.5 Hz)


class _Chat(Mapping):
    def __init__(self, processor) -> None:  # noqa: ANN001
        self.turns: list[tuple[str, object]] = []

    def new_turn(self, role: str) -> None:
        self.turns.append(("turn", role))

    def add_text(self, text: str) -> None:
        self.turns.append(("text", text))

    def add_audio(self, wave, rate: int) -> None:  # noqa: ANN001
        assert wave.shape[0] == 1 and rate == 16_000
        self.turns.append(("audio", wave.shape[1]))

    def end_turn(self) -> None:
        self.turns.append(("end", None))

    def __getitem__(self, key: str):  # noqa: ANN204
        return self.turns

    def __iter__(self) -> Iterator[str]:
        return iter(["text"])

    def __len__(self) -> int:
        return 1


class _Backbone:
    @classmethod
    def from_pretrained(cls, path, device="cuda"):  # noqa: ANN001, ANN206
        return cls()

    def eval(self):  # noqa: ANN201
        return self

    def generate_sequential(self, text, max_new_tokens: int, **sampling):  # noqa: ANN001, ANN201
        system = text[1][1]
        if system.startswith("Perform ASR"):
            assert ("audio", 16_000) in text  # one second of input at 16 kHz
            yield from (torch.tensor([t]) for t in (1, 2, 3, 9))
        else:
            assert sampling == {"audio_temperature": 0.8, "audio_top_k": 64}
            assert ("text", "ten of clubs") in text
            yield from (torch.zeros(8, dtype=torch.long) for _ in range(5))  # 4 frames + end-of-audio


@pytest.fixture
def lfm(monkeypatch: pytest.MonkeyPatch, tmp_path):  # noqa: ANN201
    fake = types.ModuleType("liquid_audio")
    fake.LFM2AudioModel, fake.LFM2AudioProcessor, fake.ChatState = _Backbone, _Processor, _Chat
    monkeypatch.setitem(sys.modules, "liquid_audio", fake)
    monkeypatch.setattr(lfm2_audio, "MIN_PYTHON", (3, 0))
    model = load_component("model", "lfm2_5_audio", [f"model.weights.path={tmp_path}"])
    model.setup(Device())
    return model


def test_audio_in_gives_a_transcript_without_chat_markup(lfm) -> None:  # noqa: ANN001
    out = lfm.predict(Audio(np.zeros(16_000, dtype=np.float32), 16_000))
    assert isinstance(out, Transcript) and out.text == "Ten of clubs."
    assert _Processor.loaded_from[1] == "cpu"


def test_text_in_gives_24khz_audio_without_the_end_frame(lfm) -> None:  # noqa: ANN001
    out = lfm.predict("ten of clubs")
    assert isinstance(out, Audio) and out.sample_rate == 24_000
    assert out.samples.dtype == np.float32 and len(out.samples) == 4 * 1920


def test_one_config_passes_both_task_checks(lfm) -> None:  # noqa: ANN001
    from modellab.tasks.base import CapabilityError

    assert sorted(str(getattr(c, "value", c)) for c in lfm.info.capabilities) == ["asr", "tts"]
    for task in ("asr", "tts"):
        load_component("task", task, ["dataset=cards_golden_v1"]).check_model(lfm)  # raises if refused
    with pytest.raises(CapabilityError, match="cannot run task 'diarization'"):  # the check is a real one
        load_component("task", "diarization").check_model(lfm)
