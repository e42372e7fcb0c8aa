"""Render ``site/`` from the results and the registry (Jinja, autoescape on, strict undefined).

Pages: ``index.html`` (quick demo + leaderboards), ``charts.html``, ``runs.html`` and
``runs/<run_id>.html``, ``models.html`` and ``models/<name>.html``, ``datasets.html`` and
``datasets/<name>.html``, ``experiments.html`` and ``experiments/<sweep_id>.html``,
``workbench.html``, plus the optional pages of :data:`PAGE_PROVIDERS` (the MOS listening test,
findings and promotion candidates, the Try-it demo). Each page type has one function in :mod:`modellab.site.pages`;
:func:`build_site` orchestrates them. All links are relative, so the site works from ``file://``
and on GitHub Pages.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from modellab.site.compare_pages import write_board_compares
from modellab.site.layout import CORE_NAV, PageWriter, environment, existing_nav, now, rewrite_nav
from modellab.site.load import (
    Registry,
    Results,
    export_samples,
    gate_counts,
    load_registry,
    load_results,
    sample_values,
    worst_samples,
)
from modellab.site.overview import Overview, group_runs, overview
from modellab.site.pages import (
    write_charts_page,
    write_dataset_pages,
    write_experiment_pages,
    write_findings_pages,
    write_index_page,
    write_languages_page,
    write_model_pages,
    write_mos_page,
    write_runs_page,
    write_workbench_page,
)
from modellab.site.pages.cpu_track import write_cpu_track_page
from modellab.site.pages.try_it import write_try_page
from modellab.site.run_pages import RunPageJob, RunPageRendering, RunPages
from modellab.site.shaping import build_board, slug

__all__ = [
    "CORE_NAV",
    "PAGE_PROVIDERS",
    "PageProvider",
    "SiteError",
    "build_site",
    "optional_page_writer",
    "render_page",
]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MARKER = ".modellab-site"
SAMPLE_TABLE_ROWS = 50  # rows of a run page's sample table (the full list is a CSV download)


class SiteError(RuntimeError):
    """The site cannot be written (e.g. the output folder holds files that are not a site)."""


@dataclass(frozen=True)
class PageProvider:
    """An optional page: ``render(writer, con) -> Path | None`` writes it with ``writer``
    (:class:`~modellab.site.layout.PageWriter`) from the results (a DuckDB connection).

    A provider that fails or writes nothing leaves its page out; its nav link appears only when
    the page exists.
    """

    label: str
    render: Callable[[PageWriter, Any], Path | None]
    path_hint: str
    also: tuple[tuple[str, str], ...] = ()  # (label, path) of further pages it writes, linked when present

    @property
    def name(self) -> str:
        return getattr(self.render, "__qualname__", self.label)

    def links(self) -> list[tuple[str, str]]:
        return [(self.label, self.path_hint), *self.also]

    def write(self, writer: PageWriter, con: Any) -> Path | None:
        try:
            path = self.render(writer, con)
        except Exception as exc:  # noqa: BLE001 - an optional page must not break the site
            logger.warning("[site] %s failed, page left out: %s", self.name, exc)
            return None
        return Path(path) if path and Path(path).exists() else None


# Optional pages; append to this list to register another.
PAGE_PROVIDERS: list[PageProvider] = [
    PageProvider("MOS", write_mos_page, "mos.html"),
    PageProvider("CPU track", write_cpu_track_page, "cpu_track.html"),
    PageProvider("Findings", write_findings_pages, "findings.html", (("Candidates", "candidates.html"),)),
    PageProvider("Try it", write_try_page, "try.html"),
]


def optional_page_writer(site_dir: Path, providers: Sequence[PageProvider] | None = None) -> PageWriter:
    """A writer for optional pages: each page links the core pages and the optional pages that exist."""
    links = [link for p in (PAGE_PROVIDERS if providers is None else providers) for link in p.links()]
    return PageWriter(environment(), site_dir, lambda: existing_nav(site_dir, links), {"built_at": now()})


def render_page(site_dir: str | Path, rel: str, title: str, body_html: str) -> Path:
    """Write ``site_dir/rel`` with the site's layout around ``body_html`` (trusted HTML: the
    caller escapes its own data). For page providers whose HTML does not come from a template."""
    writer = optional_page_writer(Path(site_dir))
    return writer.write(rel, "page.html", title=title, body=Markup(body_html))


# --- output folder ----------------------------------------------------------------------------
def _prepare(out: Path) -> None:
    """Empty ``out`` if it is a previous site (marker file) or empty; refuse anything else."""
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"{out}: exists and is not a folder")
        entries = [p for p in out.iterdir() if p.name not in (".gitkeep", MARKER, ".nojekyll")]
        if entries and not (out / MARKER).exists():
            raise SiteError(
                f"{out}: not empty and not a modellab site (no {MARKER} file); pick another --out or empty it"
            )
        for entry in entries:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by python -m modellab.site; the folder is emptied on every build\n")
    (out / ".nojekyll").write_text("")
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True)


# --- the build --------------------------------------------------------------------------------
def build_site(
    results_dir: str | Path | None = None,
    out: str | Path = "site",
    registry: Registry | None = None,
    quiet: bool = False,
    providers: Sequence[PageProvider] | None = None,
    workers: int | None = None,
) -> Path:
    """Render the whole site into ``out`` (emptied first if it is a previous site) and return it.

    ``registry`` defaults to :func:`load_registry`; ``providers`` to :data:`PAGE_PROVIDERS`;
    ``workers`` (processes rendering run pages) to :func:`~modellab.site.run_pages.auto_workers`.
    """
    from modellab.results.store import default_results_dir

    start = time.perf_counter()
    site_dir = Path(out)
    results = load_results(results_dir if results_dir is not None else default_results_dir())
    registry = registry if registry is not None else load_registry()
    _prepare(site_dir)
    providers = PAGE_PROVIDERS if providers is None else providers
    optional = optional_page_writer(site_dir, providers)
    produced = _write_optional_pages(site_dir, results.con, providers, quiet, optional)
    nav = list(CORE_NAV) + produced  # the menu, complete only now: rewritten into the optional pages
    rewrite_nav(optional.env, site_dir, [*optional.written, *(path for _, path in produced)], nav)
    writer = PageWriter(environment(), site_dir, nav, {"built_at": now(), "n_runs": len(results.runs)})
    site = overview(results, registry)
    jobs = _run_page_jobs(results, site)
    run_pages = _run_pages(writer, results, registry, site, jobs)
    # run pages render in worker processes while this one writes the samples CSVs and other pages
    with RunPageRendering(run_pages, jobs, workers) as rendering:
        export_samples(results, site_dir / "runs", _samples_csv)
        compares = write_board_compares(writer, results.con, site.boards, run_pages.media)  # sets rows' links
        counts = _write_overview_pages(writer, results, registry, site)
        rendering.wait()
    if not quiet:
        print(
            f"[site] {site_dir}/index.html: {len(results.runs)} runs, {len(site.boards)} leaderboards, "
            f"{counts['models']} models, {counts['datasets']} datasets, {counts['experiments']} experiments, "
            f"{len(compares)} compare pages in {time.perf_counter() - start:.1f}s"
        )
    return site_dir


def _write_optional_pages(
    site_dir: Path, con: Any, providers: Sequence[PageProvider], quiet: bool = True, writer: PageWriter | None = None
) -> list[tuple[str, str]]:
    """Let each provider write its page(s); return the (label, path) nav links of those written."""
    writer = writer or optional_page_writer(site_dir, providers)
    produced: list[tuple[str, str]] = []
    for provider in providers:
        started = time.perf_counter()
        path = provider.write(writer, con)
        if not quiet and time.perf_counter() - started > 1.0:
            logger.info("[site] %s: %.1fs", provider.name, time.perf_counter() - started)
        if path is None:
            continue
        try:
            produced.append((provider.label, path.resolve().relative_to(site_dir.resolve()).as_posix()))
        except ValueError:
            logger.warning("[site] %s: page %s is outside %s, not linked", provider.name, path, site_dir)
            continue
        produced += [(label, rel) for label, rel in provider.also if (site_dir / rel).exists()]
    return produced


def _write_overview_pages(writer: PageWriter, results: Results, registry: Registry, site: Overview) -> dict[str, int]:
    """Every page but the run pages and the optional ones. Returns how many models, datasets and
    experiments got pages."""
    write_index_page(writer, results, registry, site)
    write_charts_page(writer, site)
    write_languages_page(writer, site)
    write_runs_page(writer, results)
    counts = {
        "models": write_model_pages(writer, results, registry),
        "datasets": write_dataset_pages(writer, results, registry, site.boards),
        "experiments": write_experiment_pages(writer, results),
    }
    write_workbench_page(writer, registry)
    return counts


# --- run pages ----------------------------------------------------------------------------------
def _samples_csv(run_id: str) -> str:
    return f"{slug(run_id)}.samples.csv"


def _run_page_jobs(results: Results, site: Overview) -> list[RunPageJob]:
    """One job per run, with the worst samples and per-sample values of its task's primary metric
    (its leaderboards' primary metric, else the one a table of its runs would have)."""
    primary_by_task = {b.task: b.primary for b in site.boards if b.primary}
    jobs: list[RunPageJob] = []
    for (task,), task_runs in group_runs(results.runs, "task").items():
        primary = primary_by_task.get(task) or build_board("x", "", task, "", task_runs, results.directions).primary
        ids = [str(r["run_id"]) for r in task_runs]
        worst = worst_samples(results, ids, primary, SAMPLE_TABLE_ROWS)
        values = sample_values(results, primary, ids)
        jobs += [
            RunPageJob(r, task, primary, worst.get(str(r["run_id"]), []), values.get(str(r["run_id"]), []))
            for r in task_runs
        ]
    return jobs


def _run_pages(
    writer: PageWriter, results: Results, registry: Registry, site: Overview, jobs: Sequence[RunPageJob]
) -> RunPages:
    """What every run page shares."""
    return RunPages(
        writer,
        results.directions,
        results.metrics,
        gate_counts(results),
        site.colours,
        {d.name: d.hash for d in registry.datasets},
        {str(job.run["run_id"]): _samples_csv(str(job.run["run_id"])) for job in jobs if job.rows},
    )
