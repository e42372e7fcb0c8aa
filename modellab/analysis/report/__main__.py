"""``python -m modellab report [--check] [--block NAME ...] [--results-dir DIR] [--root DIR] [--config FILE ...]``.

Without ``--check``: rewrite every generated block of README.md and docs/*.md from the results store
(default ``$MODELLAB_RESULTS_DIR`` or ``results/``) and the recorded benchmark files. A block whose
runs are not in the store keeps its committed content, and the command that makes them is named.
With ``--check``: exit 1 naming each block that is stale (its deps changed since it was generated),
missing, or unknown; needs no results. Exit 2: a bad definition or marker; 3: no selected block's
data is there (nothing written), or a block's data does not fit it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from modellab.analysis.report import (
    Block,
    MarkerError,
    MissingDataError,
    MissingDepError,
    ReportDataError,
    check_blocks,
    load_blocks,
    write_blocks,
)
from modellab.config import REPO_ROOT, ConfigError
from modellab.results.store import default_results_dir

__all__ = ["main"]

EXIT_STALE, EXIT_USAGE, EXIT_NO_DATA = 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modellab report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check that every block is up to date")
    parser.add_argument("--block", action="append", default=None, help="only this block (repeatable)")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    parser.add_argument("--root", default=str(REPO_ROOT), help="folder holding README.md and docs/ (default: the repo)")
    parser.add_argument(
        "--config", action="append", default=None, help="block definitions (repeatable; default: conf/report/*.yaml)"
    )
    return parser


def _selected(configs: list[str] | None, names: list[str] | None) -> list[Block]:
    blocks = load_blocks(list[str | Path](configs) if configs else None)
    if not names:
        return blocks
    unknown = sorted(set(names) - {b.name for b in blocks})
    if unknown:
        where = ", ".join(configs) if configs else "conf/report/"
        raise ConfigError(f"{where}: no block named {', '.join(unknown)} (have: {', '.join(b.name for b in blocks)})")
    return [b for b in blocks if b.name in names]


def _write(blocks: list[Block], results_dir: str | Path, root: Path) -> int:
    kept: list[MissingDataError] = []

    def keep(block: Block, why: MissingDataError) -> None:
        kept.append(why)
        print(f"modellab report: kept the committed '{block.name}' ({block.file}): {why}", file=sys.stderr)

    written = write_blocks(blocks, results_dir, root, on_missing=keep)
    if len(kept) == len(blocks):
        print("modellab report: no block's data is there; nothing written", file=sys.stderr)
        return EXIT_NO_DATA
    print(f"modellab report: {len(blocks) - len(kept)} blocks written to {', '.join(written)}; {len(kept)} kept")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.root)
    try:
        blocks = _selected(args.config, args.block)
        if args.check:
            problems = check_blocks(blocks, root)
            for problem in problems:
                print(f"modellab report: {problem}", file=sys.stderr)
            if problems:
                print("modellab report: regenerate with `python -m modellab report` (docs/results.md)", file=sys.stderr)
                return EXIT_STALE
            print(f"modellab report: {len(blocks)} blocks up to date")
            return 0
        return _write(blocks, args.results_dir or default_results_dir(), root)
    except (ConfigError, MarkerError, MissingDepError) as exc:
        print(f"modellab report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReportDataError as exc:
        print(f"modellab report: {exc}", file=sys.stderr)
        return EXIT_NO_DATA


if __name__ == "__main__":
    sys.exit(main())
