"""What the overview pages show, computed once per build: the leaderboards (one per task × dataset,
best first, with the best-vs-runner-up note), a model × dataset matrix per task, the charts of each
leaderboard and the landing section's headline comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modellab.site.catalog import MAIN_METRICS, metric_spec
from modellab.site.charts import HistogramChart, ScatterChart, ScatterInput, histogram_chart, scatter_chart, trend_chart
from modellab.site.load import Registry, Results, sample_values
from modellab.site.matrix import language_boards, language_matrix, model_dataset_matrix
from modellab.site.power import DATA_LABEL, RESOLVES_LABEL, board_size, dataset_label, resolution_text
from modellab.site.shaping import (
    OK_STATUSES,
    Board,
    Row,
    build_board,
    direction,
    is_number,
    latest_per_setup,
    mark_best,
    one_comparison,
    run_page,
    series_label,
    slug,
    trend_series,
    variant_labels,
)
from modellab.site.significance import NOTE_LABEL, RunnerUp, best_vs_runner_up

__all__ = ["Overview", "group_runs", "overview", "task_order"]

RunGroups = dict[tuple, list[Mapping[str, Any]]]


@dataclass
class Overview:
    """The leaderboards and what is derived from them, shared by the index and charts pages."""

    boards: list[Board]
    tasks: list[str]
    matrices: dict[str, Board]
    colours: dict[str, int]
    charts: list[dict[str, Any]]
    headlines: list[dict[str, str]]
    language_matrices: dict[str, Board] = field(default_factory=dict)  # task -> models × languages
    language_boards: dict[str, list[Board]] = field(default_factory=dict)  # task -> one board per language


def overview(results: Results, registry: Registry) -> Overview:
    boards = _leaderboards(results, results.runs)
    tasks = task_order(sorted({b.task for b in boards}))
    matrices = {t: m for t in tasks if (m := model_dataset_matrix(t, boards, results.directions)) is not None}
    colours = _colours(boards)
    charts = _charts(results, boards, colours)
    site = Overview(boards, tasks, matrices, colours, charts, _headlines(boards, matrices, registry, charts))
    for task in tasks:
        by_language = language_matrix(task, boards, results.directions)
        if by_language is not None:
            site.language_matrices[task] = by_language
            site.language_boards[task] = language_boards(task, results.runs, results.directions)
    return site


def task_order(tasks: Sequence[str]) -> list[str]:
    """The catalogue's tasks first (in its order), then the others alphabetically."""
    known = [t for t in MAIN_METRICS if t in tasks]
    return known + sorted(t for t in set(tasks) if t not in MAIN_METRICS)


def group_runs(runs: Sequence[Mapping[str, Any]], *keys: str) -> RunGroups:
    """Runs grouped by the string values of ``keys`` (in first-seen order)."""
    groups: RunGroups = {}
    for run in runs:
        groups.setdefault(tuple(str(run.get(k)) for k in keys), []).append(run)
    return groups


# --- leaderboards ------------------------------------------------------------------------------
def _board_id(task: str, dataset: str) -> str:
    return f"lb-{slug(task)}-{slug(dataset)}"


def _leaderboards(results: Results, runs: Sequence[Mapping[str, Any]]) -> list[Board]:
    groups = group_runs(latest_per_setup(runs), "task", "dataset")
    boards = []
    for task in task_order([t for t, _ in groups]):
        for (t, dataset), members in sorted(groups.items()):
            if t != task:
                continue
            board = build_board(
                _board_id(task, dataset), dataset_label(dataset, members), task, dataset, members, results.directions
            )
            size = board_size(members)
            if size is not None and size.differs:
                board.notes.insert(0, (DATA_LABEL, size.note))
            if board.primary:
                _rank(board, board.primary, results)
            boards.append(board)
    return boards


def _rank(board: Board, primary: str, results: Results) -> None:
    """Sort best first on the primary metric; note the best vs the runner-up (☆ when they may be tied)."""
    hib = direction(primary, results.directions)
    index = next(i for i, c in enumerate(board.columns) if c.key == primary)

    def order(row: Row) -> tuple[bool, float]:
        value = row.cells[index].sort
        number = float(value) if isinstance(value, (int, float)) else 0.0
        return (value is None, -number if hib else number)

    board.rows.sort(key=order)
    runner_up = best_vs_runner_up(board, results)
    board.comparison = runner_up
    board.notes.append((RESOLVES_LABEL, _resolution(board, runner_up)))
    if runner_up:
        board.notes.append((NOTE_LABEL, runner_up.text))
    paired = None if runner_up is None or runner_up.half_width is None else not runner_up.tied
    if one_comparison(board.runs):
        mark_best(board, {primary: paired})


def _resolution(board: Board, runner_up: RunnerUp | None) -> str:
    """The board's "Resolves" note (see :func:`modellab.site.power.resolution_text`)."""
    primary = board.primary or ""
    if runner_up is None:
        return resolution_text(primary, len(board.rows), None)
    return resolution_text(primary, len(board.rows), runner_up.half_width, runner_up.level, runner_up.n_paired)


# --- charts --------------------------------------------------------------------------------------
def _colours(boards: Sequence[Board]) -> dict[str, int]:
    labels = sorted({str(r.get("model")) for b in boards for r in b.runs})
    return {label: i for i, label in enumerate(labels)}


def _charts(results: Results, boards: Sequence[Board], colours: Mapping[str, int]) -> list[dict[str, Any]]:
    """Per leaderboard with a primary metric: accuracy vs speed, per-sample distribution, trend."""
    sections = []
    by_td = group_runs(results.runs, "task", "dataset")
    for board in boards:
        primary = board.primary
        if not primary:
            continue
        history = by_td.get((board.task, board.dataset), [])
        series = trend_series(history, primary)
        sections.append(
            {
                "board": board,
                "primary": primary,
                "scatter": _scatter(board, primary, results, colours),
                "hist": _histogram(board, primary, results, colours),
                "trend": _trend(history, series, primary, colours),
                "n_history": sum(len(v) for v in series.values()),
            }
        )
    return sections


def _scatter(board: Board, primary: str, results: Results, colours: Mapping[str, int]) -> ScatterChart | None:
    hib = bool(direction(primary, results.directions))
    variants = variant_labels(board.runs)
    points = [
        ScatterInput(
            float(r["rtfx"]),
            float(r[primary]),
            series_label(r, variants.get(str(r["run_id"]), "")),
            run_page(str(r["run_id"])),
            colours.get(str(r.get("model")), 0),
            _interval(r, primary),
        )
        for r in board.runs
        if is_number(r.get("rtfx")) and is_number(r.get(primary))
    ]
    return scatter_chart(points, "rtfx", primary, True, hib) if points else None


def _interval(run: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    bounds = (run.get("intervals") or {}).get(metric)
    if isinstance(bounds, (tuple, list)) and len(bounds) == 2 and all(is_number(v) for v in bounds):
        return (float(bounds[0]), float(bounds[1]))
    return None


MIN_TREND_POINTS = 3  # fewer runs over time are no trend


def _histogram(board: Board, primary: str, results: Results, colours: Mapping[str, int]) -> HistogramChart | None:
    variants = variant_labels(board.runs)
    values = sample_values(results, primary, [str(r["run_id"]) for r in board.runs])
    series = [
        (
            series_label(r, variants.get(str(r["run_id"]), "")),
            run_page(str(r["run_id"])),
            values.get(str(r["run_id"]), []),
            colours.get(str(r.get("model")), 0),
        )
        for r in board.runs
        if values.get(str(r["run_id"]))
    ]
    return histogram_chart(series, primary) if series else None


def _trend(
    history: Sequence[Mapping[str, Any]], series: Mapping[str, Any], primary: str, colours: Mapping[str, int]
) -> Any:
    if sum(len(points) for points in series.values()) < MIN_TREND_POINTS:
        return None
    variants = variant_labels([h for h in history if h.get("status") in OK_STATUSES])
    series_colours = {
        series_label(r, variants.get(str(r["run_id"]), "")): colours.get(str(r.get("model")), 0) for r in history
    }
    links = {str(r["run_id"]): run_page(str(r["run_id"])) for r in history}
    return trend_chart(series, primary, links, series_colours)


# --- landing section -----------------------------------------------------------------------------
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
    out = [_most_accurate(board)]
    chart = next((c for c in charts if c["board"] is board and c["scatter"]), None)
    if chart:
        front = ", ".join(chart["scatter"].front_labels)
        out.append(
            {
                "title": f"Accuracy vs speed on {board.title}",
                "text": f"The Pareto front (no model both faster and more accurate): {front}",
                "href": f"charts.html#chart-{board.id}",
            }
        )
    matrix = matrices.get(task)
    if matrix:
        out.append(_most_wins(task, matrix))
    return out


def _most_accurate(board: Board) -> dict[str, str]:
    """ "Most accurate" only when the paired interval of best − runner-up excludes zero (★); else "tied"."""
    primary = board.primary or ""
    index = next(i for i, c in enumerate(board.columns) if c.key == primary)
    model = next(i for i, c in enumerate(board.columns) if c.key == "model")
    size = board_size(board.runs)
    evidence = f"{size.text}; " if size else ""
    comparison = board.comparison
    detail = f" ({evidence}{comparison.text})" if comparison else f" ({evidence}{len(board.rows)} setup compared)"
    label = metric_spec(primary).label
    winner = board.rows[0]
    if winner.cells[index].best:
        return {
            "title": f"Most accurate on {board.title}",
            "text": f"{winner.cells[model].text}: {label} {winner.cells[index].text}{detail}",
            "href": f"index.html#{board.id}",
        }
    tied = [row.cells[model].text for row in board.rows if row.cells[index].tied]
    text = (
        f"{' and '.join(dict.fromkeys(tied))} cannot be separated on {label}{detail}"
        if len(tied) > 1
        else f"No model can be named most accurate{detail}"
    )
    return {"title": f"No clear winner on {board.title}", "text": text, "href": f"index.html#{board.id}"}


def _most_wins(task: str, matrix: Board) -> dict[str, str]:
    """Which model is best (★: its paired interval against the runner-up excludes zero) on most datasets."""
    n = sum(1 for c in matrix.columns if c.metric)
    wins = {row.cells[0].text: sum(1 for c in row.cells[1 : n + 1] if c.best) for row in matrix.rows}
    top = max(wins, key=lambda m: wins[m])
    label = metric_spec(matrix.primary or "").label
    text = (
        f"{top} is significantly best on {wins[top]} of {n} datasets ({label}, paired bootstrap per dataset)"
        if wins[top]
        else f"No model is significantly best on any of the {n} datasets ({label}, paired bootstrap per dataset)"
    )
    return {"title": f"Across {n} {task} datasets", "text": text, "href": f"index.html#{matrix.id}"}
