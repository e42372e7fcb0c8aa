"""A one-file dataset for ``audio=PATH`` (any audio or video container ffmpeg reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modellab.datasets.base import Dataset, DatasetNotAvailableError
from modellab.types import Sample

__all__ = ["AdHocDataset"]


class AdHocDataset(Dataset):
    def __init__(self, path: str, text: str | None = None, **kwargs: Any) -> None:
        p = Path(path).expanduser().resolve()
        kwargs.setdefault("name", f"adhoc:{p.name}")
        kwargs.setdefault("kind", "smoke" if text is None else "golden")
        super().__init__(root=str(p.parent), **kwargs)
        self.path = p
        self.text = text

    def is_built(self) -> bool:
        return True

    def read_samples(self) -> list[Sample]:
        if not self.path.exists():
            raise DatasetNotAvailableError(f"audio={self.path}: file not found")
        return [Sample(sample_id=self.path.stem, audio_path=str(self.path), text=self.text)]
