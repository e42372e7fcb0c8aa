"""Real speech from Debian's ``pocketsphinx-testdata`` (LibriVox and "cards" clips, BSD-2)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import soundfile

from modellab.datasets.base import DatasetNotAvailableError
from modellab.datasets.manifest import write_manifest

__all__ = ["build", "DEFAULT_SOURCE"]

DEFAULT_SOURCE = "/usr/share/pocketsphinx/test/data"
_LINE = re.compile(r"^<s>\s*(.*?)\s*</s>\s*\(([^)]+)\)\s*$")


def _transcripts(path: Path) -> dict[str, str]:
    out = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line.strip())
        if not m:
            raise ValueError(f"{path}:{lineno}: not a '<s> text </s> (id)' line")
        out[m.group(2)] = " ".join(m.group(1).split())
    return out


def build(root: Path, subsets: list[str], source: str = DEFAULT_SOURCE) -> None:
    """Copy the clips of ``subsets`` (``librivox``, ``cards``) into ``root`` with a JSONL manifest."""
    src = Path(source)
    if not src.exists():
        raise DatasetNotAvailableError(
            f"pocketsphinx test data not found at {src}: apt-get install pocketsphinx-testdata"
        )
    root = Path(root)
    rows = []
    for subset in subsets:
        folder = src / subset
        trans = folder / ("transcription" if subset == "librivox" else f"{subset}.transcription")
        for utt, text in sorted(_transcripts(trans).items()):
            wav = folder / f"{utt}.wav"
            dest = root / "audio" / subset / wav.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(wav, dest)
            rows.append(
                {
                    "sample_id": f"{subset}-{utt}",
                    "audio": str(dest.relative_to(root)),
                    "text": text,
                    "duration": round(soundfile.info(str(dest)).duration, 3),
                    "speaker": subset,
                }
            )
    write_manifest(root, rows)
