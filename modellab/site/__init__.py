"""The static leaderboard site: ``python -m modellab.site [--results-dir DIR] [--out site]``.

Reads the results through DuckDB (:func:`modellab.results.views.connect`) and renders Jinja
templates (autoescape on, strict undefined) into a folder that works from ``file://`` and on
GitHub Pages. Optional pages of other areas register in :data:`PAGE_PROVIDERS` and can wrap
their HTML in the site's layout with :func:`render_page`.
"""

from modellab.site.build import PAGE_PROVIDERS, PageProvider, SiteError, build_site, render_page

__all__ = ["PAGE_PROVIDERS", "PageProvider", "SiteError", "build_site", "render_page"]
