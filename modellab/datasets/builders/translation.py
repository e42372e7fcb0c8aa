"""Speech-translation set: committed non-English sentences spoken by espeak-ng, English references.

The source file is a TSV of ``language<TAB>source sentence<TAB>English reference``; each
sentence is spoken by the voice configured for its language. The manifest's ``text`` is the
English reference and ``language`` the source language (the source sentence is kept in the
row as ``source_text`` for readers). Deterministic and offline.
"""

from __future__ import annotations

from pathlib import Path

from modellab.audio.synth import write_wav
from modellab.datasets.base import DatasetError
from modellab.datasets.builders.synthetic import speak
from modellab.datasets.manifest import write_manifest
from modellab.types import SAMPLE_RATE, Audio

__all__ = ["build", "read_pairs"]


def read_pairs(path: str | Path) -> list[tuple[str, str, str]]:
    """(language, source sentence, English reference) rows; '#' lines and blank lines are skipped."""
    path = Path(path)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise DatasetError(f"{path}:{lineno}: expected 'language<TAB>source<TAB>English reference'")
        rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return rows


def build(root: Path, pairs: str, voices: dict[str, str], pad_s: float) -> None:
    """Speak every source sentence with ``voices[language]`` (e.g. ``fr: espeak:fr-fr``) into ``root``."""
    import numpy as np

    root = Path(root)
    rows = []
    counters: dict[str, int] = {}
    for language, source, english in read_pairs(pairs):
        if language not in voices:
            raise DatasetError(f"{pairs}: no voice configured for language '{language}' (voices: {sorted(voices)})")
        index = counters[language] = counters.get(language, -1) + 1
        speech = speak(source, voices[language]).samples
        pad = np.zeros(int(round(pad_s * SAMPLE_RATE)), dtype=np.float32)
        audio = Audio(np.concatenate([pad, speech, pad]), SAMPLE_RATE)
        sample_id = f"{language}-{index:02d}"
        wav = root / "audio" / f"{sample_id}.wav"
        write_wav(wav, audio)
        rows.append(
            {
                "sample_id": sample_id,
                "audio": str(wav.relative_to(root)),
                "text": english,
                "language": language,
                "speaker": voices[language].replace(":", "-"),
                "duration": round(audio.duration_s, 3),
                "source_text": source,
            }
        )
    write_manifest(root, rows)
