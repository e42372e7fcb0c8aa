"""``python -m modellab.site [--results-dir DIR] [--out site]``: render the static site.

``--page mos`` or ``--page findings`` writes only that optional page into ``--out`` (which is then
not emptied): the MOS listening test (``mos.html`` and its wavs) or ``findings.html``,
``findings.json`` and ``candidates.html``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from modellab.logs import setup_cli_logging
from modellab.results.store import default_results_dir
from modellab.site.build import SiteError, build_site, optional_page_writer
from modellab.site.pages import write_findings_pages, write_mos_page

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_cli_logging()
    if args.page:
        return _write_one_page(args.page, Path(args.results_dir), Path(args.out), args.per_model)
    try:
        build_site(args.results_dir, args.out, workers=args.workers)
    except SiteError as exc:
        print(f"modellab.site: {exc}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modellab.site", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    parser.add_argument(
        "--page", choices=("mos", "findings"), help="write only this optional page into --out (not emptied)"
    )
    parser.add_argument("--per-model", type=int, default=12, help="--page mos: samples per model and task (default 12)")
    return parser


def _write_one_page(page: str, results_dir: Path, out: Path, per_model: int) -> int:
    from modellab.results.views import connect

    render = functools.partial(write_mos_page, per_model=per_model) if page == "mos" else write_findings_pages
    out.mkdir(parents=True, exist_ok=True)
    print(render(optional_page_writer(out), connect(results_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
