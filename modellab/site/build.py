"""Render ``site/`` from the results and the registry (Jinja, autoescape on, strict undefined).

Pages: ``index.html`` (quick demo + leaderboards), ``charts.html``, ``runs.html`` and
``runs/<run_id>.html``, ``models.html`` and ``models/<name>.html``, ``datasets.html`` and
``datasets/<name>.html``, ``experiments.html`` and ``experiments/<sweep_id>.html``,
``workbench.html``, plus pages of optional providers (:data:`PAGE_PROVIDERS`). All links are
relative, so the site works from ``file://`` and on GitHub Pages.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from modellab.site.catalog import MAIN_METRICS, format_value, metric_spec
from modellab.site.charts import ScatterInput, histogram_chart, scatter_chart, trend_chart
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
from modellab.site.run_pages import RunPageJob, RunPageRendering, RunPages
from modellab.site.shaping import (
    OK_STATUSES,
    Board,
    Cell,
    Column,
    Row,
    build_board,
    dataset_page,
    direction,
    experiment_page,
    flatten,
    interval_text,
    is_number,
    latest_per_setup,
    mark_best,
    model_page,
    run_page,
    series_label,
    slug,
    sweep_axes,
    trend_series,
    variant_labels,
)
from modellab.site.significance import NOTE_LABEL, best_vs_runner_up

__all__ = ["PAGE_PROVIDERS", "PageProvider", "SiteError", "build_site", "render_page"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MARKER = ".modellab-site"
SAMPLE_TABLE_ROWS = 50  # rows of a run page's sample table (the full list is a CSV download)
RUN_LIST_LIMIT = 200  # runs listed on a model or dataset page (runs.html lists all)


class SiteError(RuntimeError):
    """The site cannot be written (e.g. the output folder holds files that are not a site)."""


@dataclass(frozen=True)
class PageProvider:
    """An optional page another module renders: ``module.function(site_dir, con) -> Path``.

    Called only when ``module`` is importable; its nav link appears only when the page exists.
    """

    label: str
    module: str
    function: str
    path_hint: str
    also: tuple[tuple[str, str], ...] = ()  # (label, path) of further pages it writes, linked when present

    def render(self, site_dir: Path, con: Any) -> Path | None:
        try:
            if importlib.util.find_spec(self.module) is None:
                return None
        except ModuleNotFoundError:
            return None
        fn = getattr(importlib.import_module(self.module), self.function, None)
        if fn is None:
            return None
        try:
            path = fn(site_dir, con)
        except Exception as exc:  # noqa: BLE001 - an optional page must not break the site
            print(f"[site] {self.module}.{self.function} failed, page left out: {exc}", file=sys.stderr)
            return None
        return Path(path) if path and Path(path).exists() else None


# Optional pages other areas add; append to this list to register another.
PAGE_PROVIDERS: list[PageProvider] = [
    PageProvider("MOS", "modellab.analysis.mos", "render_mos_page", "mos.html"),
    PageProvider(
        "Findings",
        "modellab.analysis.findings",
        "render_findings_page",
        "findings.html",
        (("Candidates", "candidates.html"),),
    ),
]

CORE_NAV = (
    ("Leaderboard", "index.html"),
    ("Charts", "charts.html"),
    ("Runs", "runs.html"),
    ("Experiments", "experiments.html"),
    ("Models", "models.html"),
    ("Datasets", "datasets.html"),
    ("Workbench", "workbench.html"),
)


# --- Jinja ----------------------------------------------------------------------------------
def _environment() -> Environment:
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


def _nav(site_dir: Path) -> list[tuple[str, str]]:
    nav = list(CORE_NAV)
    for provider in PAGE_PROVIDERS:
        for label, path in ((provider.label, provider.path_hint), *provider.also):
            if (site_dir / path).exists():
                nav.append((label, path))
    return nav


def _write(env: Environment, site_dir: Path, rel: str, template: str, nav: list[tuple[str, str]], **ctx: Any) -> None:
    root = "../" * rel.count("/")
    html = env.get_template(template).render(root=root, nav=nav, here=rel, **ctx)
    path = site_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def render_page(site_dir: str | Path, rel: str, title: str, body_html: str) -> Path:
    """Write ``site_dir/rel`` with the site's layout around ``body_html`` (trusted HTML: the
    caller escapes its own data). For optional page providers."""
    site_dir = Path(site_dir)
    _write(
        _environment(),
        site_dir,
        rel,
        "page.html",
        _nav(site_dir),
        title=title,
        body=Markup(body_html),
        built_at=_now(),
    )
    return site_dir / rel


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


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


# --- the site model ---------------------------------------------------------------------------
def _task_order(tasks: Sequence[str]) -> list[str]:
    known = [t for t in MAIN_METRICS if t in tasks]
    return known + sorted(t for t in set(tasks) if t not in MAIN_METRICS)


def _board_id(task: str, dataset: str) -> str:
    return f"lb-{slug(task)}-{slug(dataset)}"


def _group(runs: Sequence[Mapping[str, Any]], *keys: str) -> dict[tuple, list[Mapping[str, Any]]]:
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault(tuple(str(run.get(k)) for k in keys), []).append(run)
    return groups


def _leaderboards(results: Results, runs: Sequence[Mapping[str, Any]]) -> list[Board]:
    latest = latest_per_setup(runs)
    boards = []
    groups = _group(latest, "task", "dataset")
    for task in _task_order([t for t, _ in groups]):
        for (t, dataset), members in sorted(groups.items()):
            if t != task:
                continue
            board = build_board(_board_id(task, dataset), dataset, task, dataset, members, results.directions)
            primary = board.primary
            if primary:
                hib = direction(primary, results.directions)
                index = next(i for i, c in enumerate(board.columns) if c.key == primary)
                board.rows.sort(
                    key=lambda r: (
                        r.cells[index].sort is None,
                        -(r.cells[index].sort or 0) if hib else (r.cells[index].sort or 0),
                    )
                )
                runner_up = best_vs_runner_up(board, results)
                if runner_up:
                    board.notes.append((NOTE_LABEL, runner_up.text))
                    if runner_up.tied:  # ☆, unless its value equals the best's and has ★ already
                        cell = next(r for r in board.rows if r.run_id == runner_up.run_id).cells[index]
                        cell.tied = not cell.best
            boards.append(board)
    return boards


def _matrix(task: str, boards: Sequence[Board], directions: Mapping[str, bool | None]) -> Board | None:
    """Model × dataset of the task's primary metric (each model's best setup), best per dataset marked."""
    boards = [b for b in boards if b.task == task and b.primary]
    if not boards:
        return None
    primary = boards[0].primary or ""
    boards = [b for b in boards if b.primary == primary]
    if len(boards) < 2:
        return None
    hib = direction(primary, directions)
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for b in boards:
        for run in b.runs:
            value = run.get(primary)
            if not is_number(value):
                continue
            key = (str(run.get("model")), b.dataset)
            if key not in best or (value > best[key][primary] if hib else value < best[key][primary]):
                best[key] = run
    models = sorted({m for m, _ in best})
    columns = [Column("model", "Model")] + [
        Column(b.dataset, b.dataset, True, hib, f"{metric_spec(primary).label} on {b.dataset}", metric=True)
        for b in boards
    ]
    rows = []
    for model in models:
        cells = [Cell(model, model, model_page(model))]
        for b in boards:
            run = best.get((model, b.dataset))
            if run is None:
                cells.append(Cell("", None))
            else:
                v = float(run[primary])
                cells.append(Cell(format_value(primary, v), v, run_page(str(run["run_id"])), title=str(run["run_id"])))
        rows.append(Row(model, cells))
    board = Board(
        f"matrix-{slug(task)}", task, "", f"{task}: {metric_spec(primary).label} across datasets", columns, rows
    )
    board.primary = primary
    board.notes = [("Metric", f"{metric_spec(primary).label}, each model's best setup")]
    mark_best(board)
    return board


def _colours(boards: Sequence[Board]) -> dict[str, int]:
    labels = sorted({str(r.get("model")) for b in boards for r in b.runs})
    return {label: i for i, label in enumerate(labels)}


def _charts(results: Results, boards: Sequence[Board], colours: Mapping[str, int]) -> list[dict[str, Any]]:
    sections = []
    by_td = _group(results.runs, "task", "dataset")
    for board in boards:
        primary = board.primary
        if not primary:
            continue
        hib = bool(direction(primary, results.directions))
        variants = variant_labels(board.runs)
        points = [
            ScatterInput(
                float(r["rtfx"]),
                float(r[primary]),
                series_label(r, variants.get(str(r["run_id"]), "")),
                run_page(str(r["run_id"])),
                colours.get(str(r.get("model")), 0),
            )
            for r in board.runs
            if is_number(r.get("rtfx")) and is_number(r.get(primary))
        ]
        scatter = scatter_chart(points, "rtfx", primary, True, hib) if points else None
        values = sample_values(results, primary, [str(r["run_id"]) for r in board.runs])
        hist_series = [
            (
                series_label(r, variants.get(str(r["run_id"]), "")),
                run_page(str(r["run_id"])),
                values.get(str(r["run_id"]), []),
                colours.get(str(r.get("model")), 0),
            )
            for r in board.runs
            if values.get(str(r["run_id"]))
        ]
        hist = histogram_chart(hist_series, primary) if hist_series else None
        history = by_td.get((board.task, board.dataset), [])
        series = trend_series(history, primary)
        trend_variants = variant_labels([h for h in history if h.get("status") in OK_STATUSES])
        trend_colours = {
            series_label(r, trend_variants.get(str(r["run_id"]), "")): colours.get(str(r.get("model")), 0)
            for r in history
        }
        trend = (
            trend_chart(series, primary, {str(r["run_id"]): run_page(str(r["run_id"])) for r in history}, trend_colours)
            if series
            else None
        )
        sections.append(
            {
                "board": board,
                "primary": primary,
                "scatter": scatter,
                "hist": hist,
                "trend": trend,
                "n_history": sum(len(v) for v in series.values()),
            }
        )
    return sections


def _headlines(
    boards: Sequence[Board], matrices: Mapping[str, Board], registry: Registry, charts: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    """The three headline comparisons of the landing section, from the data."""
    if not boards:
        return []
    task = boards[0].task
    default = registry.default_datasets.get(task)
    candidates = [b for b in boards if b.task == task and b.primary]
    if not candidates:
        return []
    board = next((b for b in candidates if b.dataset == default), max(candidates, key=lambda b: len(b.rows)))
    primary = board.primary or ""
    index = next(i for i, c in enumerate(board.columns) if c.key == primary)
    winner = board.rows[0]
    out = [
        {
            "title": f"Most accurate on {board.dataset}",
            "text": f"{winner.cells[0].text}: {metric_spec(primary).label} {winner.cells[index].text} "
            f"({len(board.rows)} setups compared)",
            "href": f"index.html#{board.id}",
        }
    ]
    chart = next((c for c in charts if c["board"] is board and c["scatter"]), None)
    if chart:
        front = ", ".join(chart["scatter"].front_labels)
        out.append(
            {
                "title": f"Accuracy vs speed on {board.dataset}",
                "text": f"The Pareto front (no model both faster and more accurate): {front}",
                "href": f"charts.html#chart-{board.id}",
            }
        )
    matrix = matrices.get(task)
    if matrix:
        wins: dict[str, int] = {}
        for row in matrix.rows:
            wins[row.cells[0].text] = sum(1 for c in row.cells[1:] if c.best)
        top = max(wins, key=lambda m: wins[m])
        out.append(
            {
                "title": f"Across {len(matrix.columns) - 1} {task} datasets",
                "text": f"{top} is best on {wins[top]} of {len(matrix.columns) - 1} datasets "
                f"({metric_spec(matrix.primary or '').label})",
                "href": f"index.html#{matrix.id}",
            }
        )
    return out


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
    env = _environment()

    produced: list[tuple[str, str]] = []
    for provider in PAGE_PROVIDERS if providers is None else providers:
        started = time.perf_counter()
        path = provider.render(site_dir, results.con)
        if not quiet and time.perf_counter() - started > 1.0:
            print(f"[site] {provider.module}.{provider.function}: {time.perf_counter() - started:.1f}s")
        if path is None:
            continue
        try:
            produced.append((provider.label, path.resolve().relative_to(site_dir.resolve()).as_posix()))
        except ValueError:
            print(f"[site] {provider.module}: page {path} is outside {site_dir}, not linked", file=sys.stderr)
            continue
        produced += [(label, rel) for label, rel in provider.also if (site_dir / rel).exists()]
    nav = list(CORE_NAV) + produced

    runs = results.runs
    boards = _leaderboards(results, runs)
    tasks = _task_order(sorted({b.task for b in boards}))
    matrices = {t: m for t in tasks if (m := _matrix(t, boards, results.directions)) is not None}
    colours = _colours(boards)
    charts = _charts(results, boards, colours)
    headlines = _headlines(boards, matrices, registry, charts)
    built_at = _now()
    common = {"built_at": built_at, "n_runs": len(runs)}
    primary_by_task = {b.task: b.primary for b in boards if b.primary}
    jobs: list[RunPageJob] = []
    for (task,), task_runs in _group(runs, "task").items():
        primary = primary_by_task.get(task) or _fallback_primary(task, task_runs, results)
        ids = [str(r["run_id"]) for r in task_runs]
        worst = worst_samples(results, ids, primary, SAMPLE_TABLE_ROWS)
        values = sample_values(results, primary, ids)
        jobs += [
            RunPageJob(r, task, primary, worst.get(str(r["run_id"]), []), values.get(str(r["run_id"]), []))
            for r in task_runs
        ]
    run_pages = RunPages(
        env,
        site_dir,
        _write,
        nav,
        common,
        results.directions,
        results.metrics,
        gate_counts(results),
        colours,
        {d.name: d.hash for d in registry.datasets},
        {str(job.run["run_id"]): _samples_csv(str(job.run["run_id"])) for job in jobs if job.rows},
    )

    # run pages render in worker processes while this one writes the samples CSVs and other pages
    with RunPageRendering(run_pages, jobs, workers) as rendering:
        export_samples(results, site_dir / "runs", _samples_csv)
        counts = _write_overview_pages(
            env, site_dir, nav, results, registry, boards, tasks, matrices, headlines, charts, common
        )
        rendering.wait()

    if not quiet:
        print(
            f"[site] {site_dir}/index.html: {len(runs)} runs, {len(boards)} leaderboards, "
            f"{counts['models']} models, {counts['datasets']} datasets, {counts['experiments']} experiments "
            f"in {time.perf_counter() - start:.1f}s"
        )
    return site_dir


def _samples_csv(run_id: str) -> str:
    return f"{slug(run_id)}.samples.csv"


def _write_overview_pages(
    env: Environment,
    site_dir: Path,
    nav: list[tuple[str, str]],
    results: Results,
    registry: Registry,
    boards: list[Board],
    tasks: list[str],
    matrices: dict[str, Board],
    headlines: list[dict[str, str]],
    charts: list[dict[str, Any]],
    common: dict[str, Any],
) -> dict[str, int]:
    """Every page but the run pages: leaderboards, charts, run list, models, datasets,
    experiments, workbench. Returns how many models, datasets and experiments got pages."""
    runs = results.runs
    datasets_by_name = {d.name: d for d in registry.datasets}
    models_by_name = {m.name: m for m in registry.models}
    _write(
        env,
        site_dir,
        "index.html",
        "index.html",
        nav,
        title="Leaderboard",
        boards=boards,
        tasks=tasks,
        matrices=matrices,
        headlines=headlines,
        demo_datasets=_demo_datasets(registry, boards),
        n_models=len({r.get("model") for r in runs}),
        n_datasets=len({r.get("dataset") for r in runs}),
        last_run=str(runs[0].get("started_at", ""))[:16].replace("T", " ") if runs else "",
        **common,
    )
    _write(env, site_dir, "charts.html", "charts.html", nav, title="Charts", sections=charts, tasks=tasks, **common)

    # runs
    all_runs_board = build_board(
        "all-runs",
        "All runs",
        "",
        "",
        runs,
        results.directions,
        lead=("model", "task", "dataset", "preprocessing", "setup"),
    )
    _add_status(all_runs_board, runs)
    _write(env, site_dir, "runs.html", "runs.html", nav, title="Runs", board=all_runs_board, **common)

    # models
    model_names = sorted({m.name for m in registry.models} | {str(r.get("model")) for r in runs})
    runs_by_model = _group(runs, "model")
    model_rows = []
    for name in model_names:
        entry = models_by_name.get(name)
        own = runs_by_model.get((name,), [])
        model_rows.append({"name": name, "entry": entry, "n_runs": len(own)})
        own_latest = latest_per_setup(own)
        own_boards = [
            build_board(
                f"model-{slug(task)}",
                task,
                task,
                "",
                members,
                results.directions,
                lead=("dataset", "preprocessing", "setup"),
            )
            for (task,), members in sorted(_group(own_latest, "task").items())
        ]
        _write(
            env,
            site_dir,
            model_page(name),
            "model.html",
            nav,
            title=f"Model {name}",
            name=name,
            entry=entry,
            boards=own_boards,
            recent=_recent_board(f"model-runs-{slug(name)}", own, results),
            n_own=len(own),
            **common,
        )
    _write(
        env,
        site_dir,
        "models.html",
        "models.html",
        nav,
        title="Models",
        models=model_rows,
        errors=registry.errors,
        **common,
    )

    # datasets
    dataset_names = sorted({d.name for d in registry.datasets} | {str(r.get("dataset")) for r in runs})
    runs_by_dataset = _group(runs, "dataset")
    dataset_rows = []
    for name in dataset_names:
        entry = datasets_by_name.get(name)
        own = runs_by_dataset.get((name,), [])
        dataset_rows.append({"name": name, "entry": entry, "n_runs": len(own)})
        hashes: dict[str, int] = {}
        for r in own:
            hashes[str(r.get("dataset_hash"))] = hashes.get(str(r.get("dataset_hash")), 0) + 1
        _write(
            env,
            site_dir,
            dataset_page(name),
            "dataset.html",
            nav,
            title=f"Dataset {name}",
            name=name,
            entry=entry,
            boards=[b for b in boards if b.dataset == name],
            hashes=hashes,
            recent=_recent_board(f"dataset-runs-{slug(name)}", own, results),
            n_own=len(own),
            **common,
        )
    _write(env, site_dir, "datasets.html", "datasets.html", nav, title="Datasets", datasets=dataset_rows, **common)

    # experiments (sweeps)
    sweeps = []
    for (sweep_id,), members in sorted(
        _group([r for r in runs if r.get("sweep_id")], "sweep_id").items(), reverse=True
    ):
        configs = {str(r["run_id"]): r.get("config") if isinstance(r.get("config"), dict) else {} for r in members}
        axes = sweep_axes(list(configs.values()))
        flat = {rid: _axis_values(cfg, axes) for rid, cfg in configs.items()}
        shown_axes = [a for a in axes if a not in ("model", "task", "dataset")]
        sweep_boards = [
            build_board(
                f"exp-{slug(task)}-{slug(dataset)}",
                f"{task} · {dataset}",
                task,
                dataset,
                group,
                results.directions,
                lead=("model",),
                axes=shown_axes,
                flat_configs=flat,
            )
            for (task, dataset), group in sorted(_group(members, "task", "dataset").items())
        ]
        info = {
            "id": sweep_id,
            "n_runs": len(members),
            "started": min(str(r.get("started_at") or "") for r in members)[:16].replace("T", " "),
            "models": sorted({str(r.get("model")) for r in members}),
            "datasets": sorted({str(r.get("dataset")) for r in members}),
            "statuses": sorted({str(r.get("status")) for r in members}),
        }
        sweeps.append(info)
        _write(
            env,
            site_dir,
            experiment_page(sweep_id),
            "experiment.html",
            nav,
            title=f"Experiment {sweep_id}",
            sweep=info,
            axes=axes,
            boards=sweep_boards,
            **common,
        )
    _write(env, site_dir, "experiments.html", "experiments.html", nav, title="Experiments", sweeps=sweeps, **common)

    _write(
        env,
        site_dir,
        "workbench.html",
        "workbench.html",
        nav,
        title="Workbench",
        registry=_workbench_data(registry),
        default_model=_default_model(registry),
        **common,
    )
    return {"models": len(model_names), "datasets": len(dataset_names), "experiments": len(sweeps)}


def _fallback_primary(task: str, runs: Sequence[Mapping[str, Any]], results: Results) -> str | None:
    board = build_board("x", "", task, "", runs, results.directions)
    return board.primary


def _add_status(board: Board, runs: Sequence[Mapping[str, Any]]) -> None:
    by_id = {str(r["run_id"]): r for r in runs}
    board.columns.insert(1, Column("status", "Status"))
    for row in board.rows:
        status = str(by_id[row.run_id].get("status"))
        row.cells.insert(1, Cell(status, status, cls="ok" if status == "ok" else "fail"))


def _recent_board(board_id: str, runs: Sequence[Mapping[str, Any]], results: Results) -> Board:
    shown = list(runs)[:RUN_LIST_LIMIT]
    board = build_board(
        board_id, "Runs", "", "", shown, results.directions, lead=("model", "task", "dataset", "preprocessing", "setup")
    )
    _add_status(board, shown)
    return board


def _axis_values(config: Mapping[str, Any], axes: Mapping[str, list[str]]) -> dict[str, Any]:
    flat = flatten(dict(config))
    return {axis: flat.get(f"{axis}.name", flat.get(axis)) for axis in axes}


def _demo_datasets(registry: Registry, boards: Sequence[Board]) -> list[Any]:
    """The golden datasets the leaderboards use (all golden ones before there are results)."""
    golden = [d for d in registry.datasets if d.kind == "golden"]
    used = {b.dataset for b in boards}
    return [d for d in golden if d.name in used] or golden


def _default_model(registry: Registry) -> str:
    """The workbench's preselected model: a production ASR model if there is one."""
    asr = [m for m in registry.models if "asr" in m.capabilities]
    production = [m for m in asr if m.status == "production"]
    return (production or asr)[0].config if asr else ""


def _workbench_data(registry: Registry) -> dict[str, Any]:
    return {
        "models": [
            {"name": m.config, "capabilities": m.capabilities, "status": m.status, "devices": m.devices}
            for m in registry.models
        ],
        "tasks": registry.tasks,
        "datasets": [{"name": d.config, "tasks": d.tasks, "kind": d.kind} for d in registry.datasets],
        "devices": registry.devices,
        "preprocessing": registry.preprocessing,
        "defaults": registry.default_datasets,
    }
