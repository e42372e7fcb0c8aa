"""Synthetic multi-speaker "conversations" with exact RTTM, built offline and deterministically.

Each speaker is an installable voice (espeak-ng with a voice/variant, speed and pitch, or Piper).
Turns are committed dialogue lines, placed one after another with seeded pauses (and, optionally,
seeded overlaps), mixed, optionally with noise at a given SNR relative to the speech. With
``stm: true`` each file also gets an STM transcript: one line per utterance (speaker, its first and
last active sample, the dialogue line spoken), exact by construction too (speaker-attributed ASR).

Exact references by construction: every utterance is synthesised alone, its active regions are
measured on the clean signal (10 ms frames above ``rel_db`` of its loudest frame; pauses shorter
than ``min_pause_s`` bridged), and every placement is a multiple of 10 ms, so RTTM boundaries
fall on the 10 ms frame grid of the VAD metrics.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modellab.audio.synth import espeak_say, piper_available, piper_say, write_wav
from modellab.datasets.builders.synthetic import read_sentences
from modellab.datasets.manifest import write_manifest
from modellab.metrics.diarization import write_rttm
from modellab.types import SAMPLE_RATE, Audio, SpeakerTurn

__all__ = [
    "FRAME",
    "Voice",
    "Utterance",
    "active_regions",
    "build",
    "make_noise",
    "mix_at_snr",
    "parse_voices",
    "synthesise",
]

FRAME = SAMPLE_RATE // 100  # 10 ms in samples: the grid every boundary falls on


@dataclass(frozen=True)
class Voice:
    """A speaker: ``engine`` is ``espeak`` (``voice``, ``speed``, ``pitch``) or ``piper`` (``voice`` unused)."""

    name: str
    engine: str
    voice: str = "en-us"
    speed: int = 160
    pitch: int = 50

    def say(self, text: str) -> Audio:
        if self.engine == "espeak":
            return espeak_say(text, voice=self.voice, speed=self.speed, pitch=self.pitch)
        if self.engine == "piper":
            return piper_say(text)
        raise ValueError(f"voice '{self.name}': engine must be 'espeak' or 'piper', got {self.engine!r}")


def parse_voices(specs: Sequence[Mapping[str, Any]]) -> list[Voice]:
    """Voices from the dataset YAML; Piper voices are skipped when the Piper extra is missing."""
    voices = []
    for i, spec in enumerate(specs):
        spec = dict(spec)
        if "name" not in spec or "engine" not in spec:
            raise ValueError(f"builder voices[{i}]: needs 'name' and 'engine' (espeak|piper), got {spec}")
        voice = Voice(**spec)
        if voice.engine == "piper" and not piper_available():
            continue
        voices.append(voice)
    return voices


def active_regions(samples: np.ndarray, rel_db: float, min_pause_s: float) -> list[tuple[int, int]]:
    """Active regions of a clean utterance as ``(start, end)`` sample indices on the 10 ms grid."""
    n = len(samples) // FRAME
    if n == 0:
        return []
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    threshold = max(float(rms.max()) * 10 ** (rel_db / 20), 1e-4)
    active = rms > threshold
    regions: list[list[int]] = []
    start = None
    for i, on in enumerate(list(active) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if regions and (start - regions[-1][1]) * FRAME < min_pause_s * SAMPLE_RATE:
                regions[-1][1] = i
            else:
                regions.append([start, i])
            start = None
    return [(s * FRAME, e * FRAME) for s, e in regions]


@dataclass
class Utterance:
    """A clean utterance trimmed to its first and last active frame; ``regions`` are relative to it."""

    samples: np.ndarray
    regions: list[tuple[int, int]]


def synthesise(voice: Voice, text: str, rel_db: float, min_pause_s: float) -> Utterance:
    audio = voice.say(text).samples
    regions = active_regions(audio, rel_db, min_pause_s)
    if not regions:
        raise ValueError(f"voice '{voice.name}' produced no audible speech for {text!r}")
    lo, hi = regions[0][0], regions[-1][1]
    return Utterance(audio[lo:hi].copy(), [(s - lo, e - lo) for s, e in regions])


def make_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white or pink noise."""
    noise = rng.standard_normal(n)
    if color == "pink":
        spectrum = np.fft.rfft(noise)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=n)
    elif color != "white":
        raise ValueError(f"noise color must be 'white' or 'pink', got {color!r}")
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


def mix_at_snr(
    signal: np.ndarray, speech_mask: np.ndarray, snr_db: float, color: str, rng: np.random.Generator
) -> np.ndarray:
    """Add noise at ``snr_db`` relative to the power of the signal inside ``speech_mask``."""
    speech = signal[speech_mask]
    power = float(np.mean(speech.astype(np.float64) ** 2)) if speech.size else 1e-4
    noise = make_noise(len(signal), color, rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return signal + noise


def _frames(seconds: float) -> int:
    """Seconds rounded to whole 10 ms frames, in samples."""
    return int(round(seconds * 100)) * FRAME


def _conversation(
    c: int,
    lines: list[str],
    pool: list[Voice],
    cache: dict[tuple[str, str], Utterance],
    speakers_per_conversation: list[int],
    turns: list[int],
    pause_s: list[float],
    overlap_prob: float,
    overlap_s: list[float],
    lead_s: float,
    seed: int,
    rel_db: float,
    min_pause_s: float,
) -> tuple[np.ndarray, np.ndarray, list[SpeakerTurn], list[Voice], list[tuple[str, float, float, str]]]:
    """One clean mix, its speech mask, its exact turns, its cast and its utterances (speaker, start, end, text)."""
    rng = np.random.default_rng(seed * 1000 + c)
    k = int(rng.integers(speakers_per_conversation[0], speakers_per_conversation[1] + 1))
    cast = [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]
    n_turns = int(rng.integers(turns[0], turns[1] + 1))
    order: list[Voice] = [cast[i] for i in rng.permutation(k)]  # everyone speaks at least once
    while len(order) < n_turns:
        others = [i for i, v in enumerate(cast) if v != order[-1]] or [0]
        order.append(cast[int(rng.choice(others))])
    line_ids = rng.choice(len(lines), size=len(order), replace=len(order) > len(lines))
    placed: list[tuple[Voice, int, Utterance]] = []
    said: list[tuple[str, float, float, str]] = []
    cursor = _frames(lead_s)
    for voice, line_id in zip(order, line_ids, strict=True):
        key = (voice.name, lines[line_id])
        if key not in cache:
            cache[key] = synthesise(voice, lines[line_id], rel_db, min_pause_s)
        utt = cache[key]
        start = cursor + _frames(rng.uniform(pause_s[0], pause_s[1]))
        if placed and rng.uniform() < overlap_prob:
            most = min(len(placed[-1][2].samples), len(utt.samples)) / 2 / SAMPLE_RATE
            start = cursor - _frames(min(rng.uniform(overlap_s[0], overlap_s[1]), most))
        placed.append((voice, start, utt))
        said.append((voice.name, start / SAMPLE_RATE, (start + len(utt.samples)) / SAMPLE_RATE, lines[line_id]))
        cursor = max(cursor, start + len(utt.samples))
    total = cursor + _frames(lead_s)
    mix = np.zeros(total, dtype=np.float64)
    mask = np.zeros(total, dtype=bool)
    turns_out: list[SpeakerTurn] = []
    for voice, start, utt in placed:
        mix[start : start + len(utt.samples)] += utt.samples
        for s, e in utt.regions:
            mask[start + s : start + e] = True
            turns_out.append(SpeakerTurn((start + s) / SAMPLE_RATE, (start + e) / SAMPLE_RATE, voice.name))
    return mix, mask, turns_out, cast, said


def _write_stm(path: Path, uri: str, said: list[tuple[str, float, float, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{uri} 1 {speaker} {start:.3f} {end:.3f} {' '.join(text.split())}\n" for speaker, start, end, text in said
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _no_speech(spec: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    kind, seconds = spec["kind"], float(spec["seconds"])
    n = _frames(seconds)
    if kind == "silence":
        return np.zeros(n)
    return make_noise(n, kind, rng) * 10 ** (float(spec["dbfs"]) / 20)


def build(
    root: Path,
    sentences: str,
    voices: list[dict[str, Any]],
    conversations: int,
    speakers_per_conversation: list[int],
    turns: list[int],
    pause_s: list[float],
    overlap_prob: float,
    overlap_s: list[float],
    snr_db: list[float | None],
    noise_color: str,
    lead_s: float,
    seed: int,
    no_speech: list[dict[str, Any]] | None = None,
    rel_db: float = -40.0,
    min_pause_s: float = 0.3,
    stm: bool = False,
) -> None:
    """Write ``conversations`` mixes (one wav per entry of ``snr_db``; ``null`` = clean) with
    exact RTTM into ``root``, plus the ``no_speech`` files (``kind`` silence|white|pink,
    ``seconds``, ``dbfs``) with empty RTTM: known to hold no speech.

    ``speakers_per_conversation`` and ``turns`` are inclusive ``[min, max]`` ranges; ``pause_s``
    and ``overlap_s`` are ``[min, max]`` seconds; a turn overlaps the previous one with
    probability ``overlap_prob`` (by at most half of the shorter of the two). ``stm``: also write
    each file's STM transcript (manifest column ``stm``).
    """
    root = Path(root)
    lines = read_sentences(sentences)
    pool = parse_voices(voices)
    if len(pool) < speakers_per_conversation[1]:
        raise ValueError(
            f"conversations: {len(pool)} usable voices, but up to {speakers_per_conversation[1]} speakers requested"
        )
    cache: dict[tuple[str, str], Utterance] = {}
    rows = []

    def write(
        sample_id: str,
        mix: np.ndarray,
        turns_out: list[SpeakerTurn],
        speakers: str,
        said: list[tuple[str, float, float, str]] | None = None,
    ) -> None:
        peak = float(np.max(np.abs(mix))) if mix.size else 0.0
        mix = mix * (min(1.0, 0.9 / peak) if peak else 1.0)
        wav = root / "audio" / f"{sample_id}.wav"
        write_wav(wav, Audio(mix.astype(np.float32), SAMPLE_RATE))
        rttm = write_rttm(turns_out, root / "rttm" / f"{sample_id}.rttm", uri=sample_id)
        rows.append(
            {
                "sample_id": sample_id,
                "audio": str(wav.relative_to(root)),
                "rttm": str(rttm.relative_to(root)),
                "duration": round(len(mix) / SAMPLE_RATE, 3),
                "speaker": speakers or None,
            }
        )
        if stm:
            rows[-1]["stm"] = str(
                _write_stm(root / "stm" / f"{sample_id}.stm", sample_id, said or []).relative_to(root)
            )

    for c in range(conversations):
        mix, mask, turns_out, cast, said = _conversation(
            c,
            lines,
            pool,
            cache,
            speakers_per_conversation,
            turns,
            pause_s,
            overlap_prob,
            overlap_s,
            lead_s,
            seed,
            rel_db,
            min_pause_s,
        )
        for snr in snr_db:
            noisy, suffix = mix, ""
            if snr is not None:
                noise_rng = np.random.default_rng(seed + zlib.crc32(f"noise/{c}/{snr}".encode()))
                noisy, suffix = mix_at_snr(mix, mask, float(snr), noise_color, noise_rng), f"-snr{int(snr)}"
            elif len(snr_db) > 1:
                suffix = "-clean"
            write(f"conv{c:02d}{suffix}", noisy, turns_out, ",".join(v.name for v in cast), said)
    for i, spec in enumerate(no_speech or []):
        rng = np.random.default_rng(seed + zlib.crc32(f"nospeech/{i}".encode()))
        write(f"nospeech{i:02d}-{spec['kind']}", _no_speech(spec, rng), [], "")
    write_manifest(root, rows)
