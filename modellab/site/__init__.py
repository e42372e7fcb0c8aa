"""The static leaderboard site: ``python -m modellab.site [--results-dir DIR] [--out site]``.

Reads the results through DuckDB (:func:`modellab.results.views.connect`) and renders Jinja
templates (autoescape on, strict undefined) into a folder that works from ``file://`` and on
GitHub Pages: one function per page type (:mod:`modellab.site.pages`), orchestrated by
:func:`build_site`. Optional pages register in :data:`PAGE_PROVIDERS`; a provider whose HTML
does not come from a template can wrap it in the site's layout with :func:`render_page`.

The site imports what it renders (results, :mod:`modellab.analysis`); nothing outside this
package imports it.
"""

from modellab.site.build import PAGE_PROVIDERS, PageProvider, SiteError, build_site, render_page

__all__ = ["PAGE_PROVIDERS", "PageProvider", "SiteError", "build_site", "render_page"]
