"""The 30 s two-speaker call with RTTM and STM that ships inside the ``pyannote.audio`` wheel.

Found through ``importlib.metadata`` (the library itself is never imported).
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import soundfile

from modellab.datasets.base import DatasetNotAvailableError
from modellab.datasets.manifest import write_manifest

__all__ = ["build", "sample_dir", "read_stm"]


def sample_dir() -> Path:
    try:
        dist = metadata.distribution("pyannote.audio")
    except metadata.PackageNotFoundError:
        raise DatasetNotAvailableError(
            "the pyannote.audio wheel is not installed (its sample/ holds the call): "
            "run scripts/setup.sh or .venv/bin/pip install --no-deps pyannote.audio"
        ) from None
    for f in dist.files or []:
        if str(f).endswith("sample/sample.wav"):
            return Path(str(dist.locate_file(f))).parent
    raise DatasetNotAvailableError("pyannote.audio is installed but has no sample/sample.wav")


def read_stm(path: Path) -> list[tuple[str, float, float, str]]:
    """(speaker, start, end, text) rows of an STM file."""
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith(";;"):
            continue
        parts = line.split(maxsplit=5)
        if len(parts) < 5:
            raise ValueError(f"{path}:{lineno}: an STM line needs at least 5 fields")
        rows.append((parts[2], float(parts[3]), float(parts[4]), parts[5] if len(parts) > 5 else ""))
    return rows


def build(root: Path, mode: str) -> None:
    """``mode=call``: the whole call with RTTM/STM (diarization, VAD, alignment);
    ``mode=turns``: one sample per STM turn, cut from the call (ASR)."""
    src = sample_dir()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in ("sample.wav", "sample.rttm", "sample.stm"):
        shutil.copyfile(src / name, root / name)
    info = soundfile.info(str(root / "sample.wav"))
    if mode == "call":
        stm = read_stm(root / "sample.stm")
        rows = [
            {
                "sample_id": "call",
                "audio": "sample.wav",
                "text": " ".join(t for _, _, _, t in stm),
                "duration": round(info.duration, 3),
                "rttm": "sample.rttm",
                "stm": "sample.stm",
            }
        ]
    elif mode == "turns":
        data, sr = soundfile.read(str(root / "sample.wav"), dtype="float32")
        rows = []
        for i, (speaker, start, end, text) in enumerate(read_stm(root / "sample.stm")):
            clip = root / "turns" / f"turn{i:02d}.wav"
            clip.parent.mkdir(exist_ok=True)
            lo, hi = int(max(0.0, start - 0.1) * sr), int(min(info.duration, end + 0.1) * sr)
            soundfile.write(str(clip), data[lo:hi], sr, subtype="PCM_16")
            rows.append(
                {
                    "sample_id": f"turn{i:02d}",
                    "audio": str(clip.relative_to(root)),
                    "text": text,
                    "speaker": speaker,
                    "duration": round((hi - lo) / sr, 3),
                }
            )
    else:
        raise ValueError(f"pyannote_sample.build: mode must be 'call' or 'turns', got {mode!r}")
    write_manifest(root, rows)
