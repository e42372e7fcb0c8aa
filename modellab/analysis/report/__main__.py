"""``python -m modellab report [--check] [--block NAME ...] [--results-dir DIR] [--root DIR] [--config FILE]``.

Without ``--check``: rewrite every generated block of README.md and docs/*.md from the results store
(default ``$MODELLAB_RESULTS_DIR`` or ``results/``) and the recorded benchmark files.
With ``--check``: exit 1 naming each block that is stale (its deps changed since it was generated),
missing, or unknown; needs no results. Exit 2: a bad definition or marker; 3: a block's data is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from modellab.analysis.report import (
    DEFAULT_BLOCKS,
    Block,
    MarkerError,
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
    parser.add_argument("--config", default=str(DEFAULT_BLOCKS), help="block definitions (default: %(default)s)")
    return parser


def _selected(config: str, names: list[str] | None) -> list[Block]:
    blocks = load_blocks(config)
    if not names:
        return blocks
    unknown = sorted(set(names) - {b.name for b in blocks})
    if unknown:
        raise ConfigError(f"{config}: no block named {', '.join(unknown)} (have: {', '.join(b.name for b in blocks)})")
    return [b for b in blocks if b.name in names]


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
        written = write_blocks(blocks, args.results_dir or default_results_dir(), root)
    except (ConfigError, MarkerError, MissingDepError) as exc:
        print(f"modellab report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReportDataError as exc:
        print(f"modellab report: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    print(f"modellab report: {len(blocks)} blocks written to {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
