"""The site's Jinja environment (autoescape on, strict undefined) and :class:`PageWriter`, which
writes one template into the site folder with the shared layout context (nav, root, build time)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from modellab.site.catalog import format_value, metric_spec
from modellab.site.shaping import dataset_page, experiment_page, interval_text, model_page, run_page

__all__ = ["CORE_NAV", "TEMPLATES", "NavLinks", "PageWriter", "environment", "existing_nav", "now", "rewrite_nav"]

TEMPLATES = Path(__file__).resolve().parent / "templates"

CORE_NAV = (
    ("Leaderboard", "index.html"),
    ("Charts", "charts.html"),
    ("Runs", "runs.html"),
    ("Experiments", "experiments.html"),
    ("Models", "models.html"),
    ("Datasets", "datasets.html"),
    ("Languages", "languages.html"),
    ("Workbench", "workbench.html"),
)

NavLinks = Sequence[tuple[str, str]]


def environment() -> Environment:
    """Jinja over ``templates/``: autoescape on (strings too), strict undefined, the site's helpers as globals.

    ``tojson`` escapes ``<``, ``>``, ``&`` and ``'`` (as ``\\u003c`` ...), so JSON embedded in a
    ``<script type="application/json">`` can never end or comment out the script element.
    """
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt=format_value,
        label=lambda name: metric_spec(name).label,
        run_page=run_page,
        model_page=model_page,
        dataset_page=dataset_page,
        experiment_page=experiment_page,
        interval_text=interval_text,
    )
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str, sort_keys=True)
    return env


def now() -> str:
    """The build time shown in every page's footer."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def existing_nav(site_dir: Path, optional: NavLinks) -> list[tuple[str, str]]:
    """The core links plus those optional pages (label, path) that exist in ``site_dir`` now."""
    return list(CORE_NAV) + [(label, path) for label, path in optional if (site_dir / path).exists()]


@dataclass
class PageWriter:
    """Writes pages of one site folder: each gets ``root`` (``../`` per folder level), ``nav``,
    ``here`` (its own path, for the current nav entry) and the ``common`` context (build time ...).

    ``nav`` is a list, or a function called per page (optional pages link what exists so far).
    """

    env: Environment
    site_dir: Path
    nav: NavLinks | Callable[[], NavLinks]
    common: Mapping[str, Any] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # the pages written, relative to site_dir

    def write(self, rel: str, template: str, **ctx: Any) -> Path:
        """Render ``template`` into ``site_dir/rel`` and return the path."""
        nav = self.nav() if callable(self.nav) else self.nav
        html = self.env.get_template(template).render(
            root="../" * rel.count("/"), nav=nav, here=rel, **{**self.common, **ctx}
        )
        path = self.site_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        self.written.append(rel)
        return path


_NAV_START, _NAV_END = "<!--nav-->", "<!--/nav-->"


def rewrite_nav(env: Environment, site_dir: Path, pages: Sequence[str], nav: NavLinks) -> None:
    """Replace the menu of ``pages`` (paths relative to ``site_dir``) with ``nav``: pages written before
    the whole menu was known (the optional ones) get the same menu as every other page."""
    template = env.get_template("nav.html")
    for rel in dict.fromkeys(pages):
        path = site_dir / rel
        if not path.exists():
            continue
        html = path.read_text(encoding="utf-8")
        start, end = html.find(_NAV_START), html.find(_NAV_END)
        if start < 0 or end < start:
            continue
        menu = template.render(root="../" * rel.count("/"), nav=nav, here=rel).strip()
        path.write_text(html[:start] + menu + html[end + len(_NAV_END) :], encoding="utf-8")
