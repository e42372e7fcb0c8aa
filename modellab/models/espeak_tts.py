"""espeak-ng (Debian binary) as a TTS model: formant synthesis, many voices, no weights."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from modellab.models.base import MissingExtraError, TTSModel
from modellab.types import Audio

__all__ = ["EspeakTTS", "EspeakOptions"]


@dataclass
class EspeakOptions:
    voice: str  # espeak-ng -v (en-us, en-gb, en-gb-scotland, en-us+f3, ...: espeak-ng --voices=en)
    speed: int  # words per minute (-s)
    pitch: int  # 0-99 (-p)
    amplitude: int  # 0-200 (-a)
    word_gap: int  # extra pause between words in units of 10 ms (-g)


class EspeakTTS(TTSModel):
    Options = EspeakOptions

    def load(self) -> None:
        self.binary = shutil.which("espeak-ng")
        if self.binary is None:
            raise MissingExtraError(
                f"model '{self.name}' needs the espeak-ng program, which is not installed here. "
                "Install it with: apt-get install espeak-ng (scripts/setup.sh does)"
            )
        probe = subprocess.run([self.binary, "-v", self.options.voice, "-q", "--", "a"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise ValueError(
                f"conf/model/{self.name}.yaml options.voice: espeak-ng has no voice '{self.options.voice}' "
                f"({probe.stderr.strip()}; list them with: espeak-ng --voices=en)"
            )

    def predict(self, inputs: str) -> Audio:
        import soundfile

        o = self.options
        cmd = [self.binary, "-v", o.voice, "-s", str(o.speed), "-p", str(o.pitch), "-a", str(o.amplitude)]
        cmd += ["-g", str(o.word_gap), "--stdout", "--", inputs]
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"espeak-ng failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
        data, sr = soundfile.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
        return Audio(np.ascontiguousarray(data.mean(axis=1)), int(sr))
