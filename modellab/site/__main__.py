"""``python -m modellab.site [--results-dir DIR] [--out site]``: render the static site."""

from __future__ import annotations

import argparse
import sys

from modellab.results.store import default_results_dir
from modellab.site.build import SiteError, build_site

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.site", description=__doc__)
    parser.add_argument(
        "--results-dir",
        default=str(default_results_dir()),
        help="results store to read (default: $MODELLAB_RESULTS_DIR or results)",
    )
    parser.add_argument("--out", default="site", help="output folder, emptied first if it holds a previous site")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes rendering run pages (default: the usable cores, at most 4, when there are 200+ runs)",
    )
    args = parser.parse_args(argv)
    try:
        build_site(args.results_dir, args.out, workers=args.workers)
    except SiteError as exc:
        print(f"modellab.site: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
