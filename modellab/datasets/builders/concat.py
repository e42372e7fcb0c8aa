"""Benchmark sets made from other datasets' clips: many files (``collect``) or few long files
(``concatenate``: clips joined with short silences, references joined in the same order).

The sources are other dataset configs (built first if needed); the result is deterministic:
clips are taken round-robin across sources in manifest order, no randomness.
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

import numpy as np
import soundfile

from modellab.audio import load_audio
from modellab.datasets.manifest import write_manifest
from modellab.types import SAMPLE_RATE, Audio, Sample

__all__ = ["collect", "concatenate"]


def _source_samples(sources: list[str]) -> list[list[Sample]]:
    from modellab.config.registry import load_component  # here: the registry imports the dataset classes

    out = []
    for name in sources:
        dataset = load_component("dataset", name)
        samples = [s for s in dataset.samples() if s.audio_path and s.text and s.text.strip()]
        if not samples:
            raise ValueError(f"dataset '{name}' has no samples with audio and a reference to build from")
        out.append(samples)
    return out


def _interleaved(sources: list[str]) -> list[Sample]:
    groups = _source_samples(sources)
    return [s for row in zip_longest(*groups) for s in row if s is not None]


def _clip(sample: Sample) -> Audio:
    if sample.audio_path is None:  # _source_samples keeps only samples with audio
        raise ValueError(f"sample '{sample.sample_id}' has no audio to build from")
    audio = load_audio(sample.audio_path)
    if sample.offset_s or sample.extra.get("end_s"):
        lo = int(sample.offset_s * audio.sample_rate)
        hi = int(sample.extra["end_s"] * audio.sample_rate) if sample.extra.get("end_s") else None
        audio = Audio(audio.samples[lo:hi], audio.sample_rate)
    return audio


def _write(path: Path, samples: np.ndarray) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, SAMPLE_RATE, subtype="PCM_16")
    return round(len(samples) / SAMPLE_RATE, 3)


def collect(root: Path, sources: list[str]) -> None:
    """Every clip with a reference of ``sources``, one file each (16 kHz mono), in one manifest."""
    root = Path(root)
    rows = []
    for i, sample in enumerate(_interleaved(sources)):
        path = root / "audio" / f"{i:04d}.wav"
        duration = _write(path, _clip(sample).samples)
        rows.append(
            {
                "sample_id": f"{i:04d}-{sample.sample_id}",
                "audio": str(path.relative_to(root)),
                "text": sample.text,
                "duration": duration,
            }
        )
    write_manifest(root, rows)


def concatenate(root: Path, sources: list[str], file_s: float, total_s: float, gap_s: float) -> None:
    """Files of about ``file_s`` seconds (clips joined with ``gap_s`` of silence) until ``total_s``
    seconds are written; the clips are cycled again when ``total_s`` needs more than there are."""
    if file_s <= 0 or total_s <= 0 or gap_s < 0:
        raise ValueError(f"concatenate: file_s ({file_s}) and total_s ({total_s}) must be > 0, gap_s >= 0")
    root = Path(root)
    clips = _interleaved(sources)
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    rows: list[dict] = []
    written = 0.0
    parts: list[np.ndarray] = []
    texts: list[str] = []
    length = 0
    index = 0

    def flush() -> None:
        nonlocal parts, texts, length, written
        path = root / "audio" / f"concat-{len(rows):03d}.wav"
        duration = _write(path, np.concatenate(parts))
        rows.append(
            {"sample_id": f"concat-{len(rows):03d}", "audio": str(path.relative_to(root)), "text": " ".join(texts)}
            | {"duration": duration}
        )
        written += duration
        parts, texts, length = [], [], 0

    while written < total_s:
        sample = clips[index % len(clips)]
        index += 1
        audio = _clip(sample).samples
        parts += [audio, gap]
        texts.append(" ".join((sample.text or "").split()))  # never empty: _source_samples keeps those with text
        length += len(audio) + len(gap)
        if length >= min(file_s, total_s - written) * SAMPLE_RATE:
            flush()
    write_manifest(root, rows)
