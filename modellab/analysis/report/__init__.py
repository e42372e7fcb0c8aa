"""``python -m modellab report``: every measured table of README.md and docs/ regenerated from the lab.

Blocks are defined once in ``conf/report/*.yaml`` (``default.yaml``: the default sweep's figures;
``docs.yaml``: those of the opt-in sweep ``conf/lab/docs.yaml``) and live in the markdown between
``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``. ``report`` rewrites them from the results store
(or recorded benchmark files) and keeps a block whose runs are not in the store, naming the command
that makes them; ``report --check`` fails on any block whose recorded deps fingerprint differs from the
current hash of its deps, or that is missing (docs/results.md, "Regenerating the documented figures").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellab.analysis.report.blocks import DEFAULT_BLOCKS, Block, load_blocks
from modellab.analysis.report.fingerprint import MissingDepError, fingerprint
from modellab.analysis.report.markers import MarkerError, block_names, block_text, recorded_fingerprint, replace_block
from modellab.analysis.report.stamp import stamp
from modellab.analysis.report.tables import (
    MissingDataError,
    ReportDataError,
    json_rows,
    markdown_table,
    paired_rows,
    store_rows,
)
from modellab.config import REPO_ROOT

__all__ = [
    "DEFAULT_BLOCKS",
    "Block",
    "MarkerError",
    "MissingDataError",
    "MissingDepError",
    "ReportDataError",
    "Stale",
    "check_blocks",
    "load_blocks",
    "render_block",
    "write_blocks",
]


@dataclass(frozen=True)
class Stale:
    block: str
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: block '{self.block}' {self.reason}"


def _rows(block: Block, results_dir: str | Path, deps_root: Path) -> list[dict[str, Any]]:
    if block.kind == "json":
        return json_rows(block, deps_root)
    if block.kind == "paired":
        return paired_rows(block, results_dir)
    return store_rows(block, results_dir)


def render_block(block: Block, results_dir: str | Path, deps_root: Path = REPO_ROOT, today: str | None = None) -> str:
    """The block's generated content: its table, a blank line, the stamp."""
    rows = _rows(block, results_dir, deps_root)
    deps = fingerprint(block, deps_root)
    return markdown_table(block, rows) + "\n\n" + stamp(rows, deps, deps_root, today, block.source) + "\n"


def write_blocks(
    blocks: list[Block],
    results_dir: str | Path,
    docs_root: Path = REPO_ROOT,
    deps_root: Path = REPO_ROOT,
    on_missing: Callable[[Block, MissingDataError], None] | None = None,
) -> list[str]:
    """Rewrite each block in its file; the files written. Raises on the first block that cannot render,
    except, with ``on_missing``, a block whose runs or recorded files are not there: that block keeps
    its committed content and ``on_missing`` is told why."""
    texts: dict[str, str] = {}
    for block in blocks:
        path = docs_root / block.file
        text = texts.get(block.file) or path.read_text(encoding="utf-8")
        try:
            content = render_block(block, results_dir, deps_root)
        except MissingDataError as exc:
            if on_missing is None:
                raise
            on_missing(block, exc)
            continue
        texts[block.file] = replace_block(text, block.name, content, str(path))
    for file, text in texts.items():
        (docs_root / file).write_text(text, encoding="utf-8")
    return list(texts)


def _unknown_blocks(blocks: list[Block], docs_root: Path) -> list[Stale]:
    known = {(b.file, b.name) for b in blocks}
    docs = [docs_root / "README.md", *sorted((docs_root / "docs").glob("*.md"))]
    out = []
    for path in docs:
        if not path.exists():
            continue
        file = path.relative_to(docs_root).as_posix()
        out += [
            Stale(n, file, "has no definition in conf/report/")
            for n in block_names(path.read_text("utf-8"))
            if (file, n) not in known
        ]
    return out


def _block_problem(block: Block, docs_root: Path, deps_root: Path) -> str | None:
    current = fingerprint(block, deps_root)  # first: a dep that does not exist is an error, not staleness
    path = docs_root / block.file
    if not path.exists():
        return "is missing: the file does not exist"
    content = block_text(path.read_text(encoding="utf-8"), block.name, str(path))
    if content is None:
        return f"is missing: no <!-- report:{block.name} --> markers"
    recorded = recorded_fingerprint(content)
    if recorded is None:
        return "was never generated (no 'deps <hex>' stamp)"
    if recorded != current:
        return f"is stale: generated from deps {recorded}, its deps hash to {current} now"
    return None


def check_blocks(blocks: list[Block], docs_root: Path = REPO_ROOT, deps_root: Path = REPO_ROOT) -> list[Stale]:
    """Every block that is missing, never generated, stale, or in the docs without a definition."""
    found = [Stale(b.name, b.file, p) for b in blocks if (p := _block_problem(b, docs_root, deps_root))]
    return found + _unknown_blocks(blocks, docs_root)
