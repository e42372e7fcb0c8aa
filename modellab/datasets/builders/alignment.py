"""Forced-alignment set with exact word boundaries: words synthesized one by one, then joined.

Every word of a committed phrase is spoken on its own (espeak-ng or Piper), trimmed to its
voiced part (first and last sample above ``threshold_db`` of the word's peak), and the words
are concatenated with seeded gaps. The reference boundaries are therefore known to the sample
and are written as an STM file per sample (one line per word). Deterministic (Piper runs with
its sampling noise off) and offline.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from modellab.audio import resample
from modellab.audio.synth import piper_available, piper_load, write_wav
from modellab.datasets.builders.synthetic import read_sentences, speak
from modellab.datasets.manifest import write_manifest
from modellab.types import SAMPLE_RATE, Audio

__all__ = ["build", "speak_word", "trim_to_voiced", "join_words", "write_word_stm"]


def speak_word(word: str, voice: str) -> np.ndarray:
    """16 kHz samples of ``word``; Piper runs without its sampling noise so that builds are repeatable."""
    engine, _, _ = voice.partition(":")
    if engine != "piper":
        return speak(word, voice).samples
    from piper.config import SynthesisConfig

    chunks = list(piper_load().synthesize(word, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)))
    samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    return resample(samples, chunks[0].sample_rate, SAMPLE_RATE)


def trim_to_voiced(samples: np.ndarray, threshold_db: float) -> np.ndarray:
    """The span from the first to the last sample whose magnitude is above ``threshold_db`` of the peak."""
    magnitude = np.abs(samples)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak <= 0.0:
        raise ValueError("trim_to_voiced: the synthesized word is silent")
    loud = np.nonzero(magnitude > peak * 10 ** (threshold_db / 20))[0]
    return samples[loud[0] : loud[-1] + 1]


def join_words(
    words: list[np.ndarray], gaps_s: list[float], pad_s: float, sample_rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Concatenate ``words`` with ``gaps_s[i]`` of silence before word ``i + 1`` and ``pad_s`` at both ends.

    Returns the samples and each word's exact (start, end) in seconds (end = one past its last sample).
    """
    if len(gaps_s) != max(len(words) - 1, 0):
        raise ValueError(f"join_words: {len(words)} words need {len(words) - 1} gaps, got {len(gaps_s)}")
    pad = np.zeros(int(round(pad_s * sample_rate)), dtype=np.float32)
    pieces = [pad]
    bounds = []
    position = len(pad)
    for i, word in enumerate(words):
        if i:
            gap = np.zeros(int(round(gaps_s[i - 1] * sample_rate)), dtype=np.float32)
            pieces.append(gap)
            position += len(gap)
        pieces.append(word.astype(np.float32))
        bounds.append((position / sample_rate, (position + len(word)) / sample_rate))
        position += len(word)
    pieces.append(pad)
    return np.concatenate(pieces), bounds


def write_word_stm(
    path: Path, sample_id: str, speaker: str, words: list[str], bounds: list[tuple[float, float]]
) -> None:
    """One STM line per word: ``<file> 1 <speaker> <start> <end> <word>``."""
    lines = [
        f"{sample_id} 1 {speaker} {start:.5f} {end:.5f} {word}"
        for word, (start, end) in zip(words, bounds, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(
    root: Path,
    phrases: str,
    voices: list[str],
    gaps_s: list[float],
    pad_s: float,
    threshold_db: float,
    peak: float,
    seed: int,
) -> None:
    """Speak each phrase word by word with each voice; gaps are drawn (seeded) from ``gaps_s``."""
    root = Path(root)
    rows = []
    usable = [v for v in voices if not v.startswith("piper:") or piper_available()]
    for voice in usable:
        tag = voice.replace(":", "-").replace("+", "-")
        for p_idx, phrase in enumerate(read_sentences(phrases)):
            words = phrase.split()
            spoken = [trim_to_voiced(speak_word(word, voice), threshold_db) for word in words]
            rng = np.random.default_rng(seed + zlib.crc32(f"{voice}/{p_idx}".encode()))
            gaps = [float(g) for g in rng.choice(gaps_s, size=len(words) - 1)]
            samples, bounds = join_words(spoken, gaps, pad_s)
            samples = samples * (peak / float(np.abs(samples).max()))  # one gain: no clipping, word levels kept
            sample_id = f"{tag}-p{p_idx:02d}"
            wav = root / "audio" / f"{sample_id}.wav"
            stm = root / "stm" / f"{sample_id}.stm"
            write_wav(wav, Audio(samples.astype(np.float32), SAMPLE_RATE))
            write_word_stm(stm, sample_id, tag, words, bounds)
            rows.append(
                {
                    "sample_id": sample_id,
                    "audio": str(wav.relative_to(root)),
                    "text": phrase,
                    "stm": str(stm.relative_to(root)),
                    "speaker": tag,
                    "duration": round(len(samples) / SAMPLE_RATE, 3),
                }
            )
    write_manifest(root, rows)
