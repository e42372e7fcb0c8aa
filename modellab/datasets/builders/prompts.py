"""Build a prompt set (TTS inputs) from a committed prompts file: deterministic, offline."""

from __future__ import annotations

from pathlib import Path

from modellab.datasets.base import DatasetError
from modellab.datasets.manifest import write_manifest
from modellab.datasets.prompts import read_prompts

__all__ = ["build"]


def build(
    root: Path,
    prompts: str,
    ids: list[str] | None = None,
    categories: list[str] | None = None,
    limit: int | None = None,
) -> None:
    """Select prompts by ``ids`` (in that order) or ``categories``, then ``limit``, into ``root/manifest.jsonl``."""
    rows = read_prompts(prompts)
    if ids:
        by_id = {r["id"]: r for r in rows}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise DatasetError(f"{prompts}: unknown prompt ids {unknown}")
        rows = [by_id[i] for i in ids]
    if categories:
        rows = [r for r in rows if r["category"] in categories]
    rows = rows[:limit] if limit else rows
    write_manifest(
        Path(root),
        [{"sample_id": r["id"], "text": r["text"], "category": r["category"], "language": "en"} for r in rows],
    )
