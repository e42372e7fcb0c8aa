"""Synthetic speech from committed sentences, spoken by the installable voices, clean or noisy.

Deterministic: the same sentences, voices, SNRs and seed give the same files. Piper voices are
used when the optional ``piper`` extra (GPL-3.0) is installed and skipped otherwise.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from modellab.audio.synth import espeak_say, piper_available, piper_say, write_wav
from modellab.datasets.manifest import write_manifest
from modellab.preprocessing import AddNoise
from modellab.types import SAMPLE_RATE, Audio

__all__ = ["build", "read_sentences", "speak"]


def read_sentences(path: str | Path) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def speak(text: str, voice: str) -> Audio:
    """``voice`` is ``espeak:<name>`` or ``piper:joe``."""
    engine, _, name = voice.partition(":")
    if engine == "espeak":
        return espeak_say(text, voice=name)
    if engine == "piper":
        return piper_say(text)
    raise ValueError(f"unknown voice '{voice}': use espeak:<voice> or piper:joe")


def _voices(voices: list[str]) -> list[str]:
    return [v for v in voices if not v.startswith("piper:") or piper_available()]


def _pad(audio: Audio, seconds: float) -> Audio:
    pad = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    return Audio(np.concatenate([pad, audio.samples, pad]), SAMPLE_RATE)


def build(
    root: Path,
    sentences: str,
    voices: list[str],
    snr_db: list[float | None],
    seed: int,
    limit: int | None = None,
    silence_files: int = 0,
    with_text: bool = True,
) -> None:
    """Speak each sentence with each voice, at each SNR (``null`` = clean), into ``root``."""
    root = Path(root)
    rows = []
    texts = read_sentences(sentences)[:limit]
    for voice in _voices(voices):
        tag = voice.replace(":", "-").replace("+", "-")
        for s_idx, text in enumerate(texts):
            clean = _pad(speak(text, voice), 0.3)
            for snr in snr_db:
                audio = clean
                suffix = "clean"
                if snr is not None:
                    sample_seed = seed + zlib.crc32(f"{voice}/{s_idx}/{snr}".encode())
                    audio = AddNoise(snr_db=float(snr), color="white")(clean, sample_seed)
                    suffix = f"snr{int(snr)}"
                sample_id = f"{tag}-s{s_idx:02d}-{suffix}"
                path = root / "audio" / f"{sample_id}.wav"
                write_wav(path, audio)
                rows.append(
                    {
                        "sample_id": sample_id,
                        "audio": str(path.relative_to(root)),
                        "text": text if with_text else None,
                        "speaker": tag,
                        "duration": round(audio.duration_s, 3),
                    }
                )
    rng = np.random.default_rng(seed)
    for i in range(silence_files):
        sample_id = f"silence-{i:02d}"
        path = root / "audio" / f"{sample_id}.wav"
        level = 10 ** (-60 / 20) * (i % 2)  # alternate digital silence and -60 dBFS hiss
        write_wav(path, Audio((rng.standard_normal(2 * SAMPLE_RATE) * level).astype(np.float32)))
        rows.append({"sample_id": sample_id, "audio": str(path.relative_to(root)), "duration": 2.0})
    write_manifest(root, rows)
