"""``python -m modellab compare BASELINE CANDIDATE [...] [--html OUT]``: the analysis layer's compare
command (:func:`modellab.analysis.compare.main`) with the site's page renderer for ``--html``
(:func:`modellab.site.compare_pages.write_compare_html`), which the analysis layer may not import."""

from __future__ import annotations

import sys

from modellab.analysis.compare import main as compare_main
from modellab.logs import setup_cli_logging
from modellab.site.compare_pages import write_compare_html

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    setup_cli_logging()
    return compare_main(argv, render_html=write_compare_html)


if __name__ == "__main__":
    sys.exit(main())
