"""WebRTC's GMM voice activity detector (``webrtcvad-wheels``), per-frame decisions smoothed into segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modellab.audio import resample
from modellab.config.schema import ConfigError
from modellab.models.base import VADModel
from modellab.types import Audio, Segment

__all__ = ["WebRTCVAD", "WebRTCVADOptions", "frames_to_segments"]

RATE = 16_000  # webrtcvad accepts 8, 16, 32 and 48 kHz; the lab's audio is 16 kHz


@dataclass
class WebRTCVADOptions:
    aggressiveness: int  # 0 (least) .. 3 (most aggressive in filtering out non-speech)
    frame_ms: int  # 10, 20 or 30
    min_speech_ms: int  # speech runs shorter than this are dropped
    min_silence_ms: int  # pauses shorter than this are bridged
    speech_pad_ms: int  # each segment is widened by this on both sides


def frames_to_segments(
    is_speech: np.ndarray,
    frame_s: float,
    duration_s: float,
    min_speech_s: float,
    min_silence_s: float,
    pad_s: float,
) -> list[Segment]:
    """Runs of speech frames -> segments: bridge short pauses, drop short runs, pad, clip, merge."""
    runs: list[list[float]] = []
    start = None
    for i, speech in enumerate(list(is_speech) + [False]):
        if speech and start is None:
            start = i
        elif not speech and start is not None:
            runs.append([start * frame_s, i * frame_s])
            start = None
    bridged: list[list[float]] = []
    for run in runs:
        if bridged and run[0] - bridged[-1][1] < min_silence_s:
            bridged[-1][1] = run[1]
        else:
            bridged.append(run)
    out: list[Segment] = []
    for s, e in bridged:
        if e - s < min_speech_s:
            continue
        s, e = max(0.0, s - pad_s), min(duration_s, e + pad_s)
        if out and s <= out[-1].end:
            out[-1] = Segment(out[-1].start, max(out[-1].end, e))
        else:
            out.append(Segment(s, e))
    return out


class WebRTCVAD(VADModel):
    Options = WebRTCVADOptions

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the base signature
        super().__init__(*args, **kwargs)
        if self.options.aggressiveness not in (0, 1, 2, 3):
            raise ConfigError(
                f"conf/model/{self.name}.yaml options.aggressiveness: must be 0, 1, 2 or 3, "
                f"got {self.options.aggressiveness}"
            )
        if self.options.frame_ms not in (10, 20, 30):
            raise ConfigError(
                f"conf/model/{self.name}.yaml options.frame_ms: must be 10, 20 or 30, got {self.options.frame_ms}"
            )

    def load(self) -> None:
        import webrtcvad

        self.vad = webrtcvad.Vad(self.options.aggressiveness)

    def predict(self, inputs: Audio) -> list[Segment]:
        o = self.options
        samples = resample(inputs.samples, inputs.sample_rate, RATE)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        step = RATE * o.frame_ms // 1000
        n = len(pcm) // step
        decisions = np.array(
            [self.vad.is_speech(pcm[i * step : (i + 1) * step].tobytes(), RATE) for i in range(n)], dtype=bool
        )
        return frames_to_segments(
            decisions,
            o.frame_ms / 1000,
            len(samples) / RATE,
            o.min_speech_ms / 1000,
            o.min_silence_ms / 1000,
            o.speech_pad_ms / 1000,
        )
