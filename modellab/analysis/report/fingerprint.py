"""The deps fingerprint of a block: a hash of its definition and of the content of every file it
depends on (the rule dvc.yaml applies to a stage's deps). A table whose recorded fingerprint differs
from the current one was generated from other code or config than the committed one: it is stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from modellab.analysis.report.blocks import Block

__all__ = ["IMPLICIT_DEPS", "MissingDepError", "dep_files", "fingerprint"]

# Every block also depends on the code that renders it.
IMPLICIT_DEPS = ("modellab/analysis/report",)
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
LENGTH = 12  # hex digits recorded in the stamp


class MissingDepError(FileNotFoundError):
    """A block names a dep that does not exist."""


def _walk(path: Path) -> Iterator[Path]:
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or child.name in _SKIP_DIRS:
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.suffix not in _SKIP_SUFFIXES:
            yield child


def dep_files(block: Block, root: Path) -> list[Path]:
    """Every file the block depends on (its deps, a json block's sources, the report code; dirs expanded,
    caches left out), sorted, without repeats."""
    found: set[Path] = set()
    for dep in (*block.deps, *(row.source for row in block.rows if row.source), *IMPLICIT_DEPS):
        paths = sorted(root.glob(dep)) if any(ch in dep for ch in "*?[") else [root / dep]
        if not paths or not all(p.exists() for p in paths):
            raise MissingDepError(f"report block '{block.name}': dep '{dep}' matches nothing under {root}")
        for path in paths:
            found.update(_walk(path) if path.is_dir() else [path])
    return sorted(found)


def fingerprint(block: Block, root: Path) -> str:
    """sha256 over the block's definition and each dep file's relative path and bytes (first 12 hex digits)."""
    digest = hashlib.sha256(json.dumps(block.definition(), sort_keys=True).encode())
    for file in dep_files(block, root):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:LENGTH]
