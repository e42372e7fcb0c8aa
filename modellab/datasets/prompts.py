"""Text-only prompt sets (TTS inputs): a JSONL manifest of ``{sample_id, text, category}`` rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modellab.datasets.base import Dataset, DatasetError
from modellab.types import Sample

__all__ = ["PromptDataset", "read_prompts"]


def read_prompts(path: str | Path) -> list[dict[str, str]]:
    """Read a committed prompts file: ``id<TAB>category<TAB>text`` with a header row; '#' lines are comments."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: prompts file not found")
    rows: list[dict[str, str]] = []
    header_seen = False
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        if not header_seen:
            if cells != ["id", "category", "text"]:
                raise DatasetError(f"{path}:{lineno}: expected the header 'id<TAB>category<TAB>text', got {line!r}")
            header_seen = True
            continue
        if len(cells) != 3 or not all(c.strip() for c in cells):
            raise DatasetError(f"{path}:{lineno}: expected 3 non-empty tab-separated columns, got {len(cells)}")
        prompt_id, category, text = (c.strip() for c in cells)
        if prompt_id in seen:
            raise DatasetError(f"{path}:{lineno}: duplicate prompt id '{prompt_id}'")
        seen.add(prompt_id)
        rows.append({"id": prompt_id, "category": category, "text": text})
    if not rows:
        raise DatasetError(f"{path}: no prompts")
    return rows


class PromptDataset(Dataset):
    """Prompts without audio: each sample's ``text`` is both the model input and the reference."""

    def read_samples(self) -> list[Sample]:
        path = self.manifest_path
        samples = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row: Any = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{where}: malformed JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
                sample_id, text = row.get("sample_id"), row.get("text")
                if not sample_id or not isinstance(text, str) or not text.strip():
                    raise DatasetError(f"{where}: a prompt needs a 'sample_id' and a non-empty 'text'")
                samples.append(
                    Sample(
                        sample_id=str(sample_id),
                        text=text,
                        language=row.get("language") or self.language,
                        extra={"category": row.get("category")},
                    )
                )
        return samples
