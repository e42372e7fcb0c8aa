"""What the overview pages show, computed once per build: the leaderboards (one per task × dataset,
best first, with the best-vs-runner-up note), a model × dataset matrix per task, the charts of each
leaderboard and the landing section's headline comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modellab.site.catalog import MAIN_METRICS, format_value, metric_spec
from modellab.site.charts import HistogramChart, ScatterChart, ScatterInput, histogram_chart, scatter_chart, trend_chart
from modellab.site.load import Registry, Results, sample_values
from modellab.site.power import DATA_LABEL, RESOLVES_LABEL, board_size, dataset_label, resolution_text
from modellab.site.shaping import (
    OK_STATUSES,
    Board,
    Cell,
    Column,
    Row,
    build_board,
    direction,
    is_number,
    latest_per_setup,
    mark_best,
    model_page,
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


def overview(results: Results, registry: Registry) -> Overview:
    boards = _leaderboards(results, results.runs)
    tasks = task_order(sorted({b.task for b in boards}))
    matrices = {t: m for t in tasks if (m := _matrix(t, boards, results.directions)) is not None}
    colours = _colours(boards)
    charts = _charts(results, boards, colours)
    return Overview(boards, tasks, matrices, colours, charts, _headlines(boards, matrices, registry, charts))


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
    board.notes.append((RESOLVES_LABEL, _resolution(board, runner_up)))
    if runner_up:
        board.notes.append((NOTE_LABEL, runner_up.text))
        if runner_up.tied:  # ☆, unless its value equals the best's and has ★ already
            cell = next(r for r in board.rows if r.run_id == runner_up.run_id).cells[index]
            cell.tied = not cell.best


def _resolution(board: Board, runner_up: RunnerUp | None) -> str:
    """The board's "Resolves" note (see :func:`modellab.site.power.resolution_text`)."""
    primary = board.primary or ""
    if runner_up is None:
        return resolution_text(primary, len(board.rows), None)
    return resolution_text(primary, len(board.rows), runner_up.half_width, runner_up.level, runner_up.n_paired)


# --- model × dataset matrix ---------------------------------------------------------------------
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
    best = _best_per_model_and_dataset(boards, primary, hib)
    columns = [Column("model", "Model")] + [
        Column(b.dataset, b.title, True, hib, f"{metric_spec(primary).label} on {b.title}", metric=True) for b in boards
    ]
    rows = [_matrix_row(model, boards, best, primary) for model in sorted({m for m, _ in best})]
    board = Board(
        f"matrix-{slug(task)}", task, "", f"{task}: {metric_spec(primary).label} across datasets", columns, rows
    )
    board.primary = primary
    board.notes = [("Metric", f"{metric_spec(primary).label}, each model's best setup")]
    mark_best(board)
    return board


def _best_per_model_and_dataset(
    boards: Sequence[Board], primary: str, hib: bool | None
) -> dict[tuple[str, str], Mapping[str, Any]]:
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for b in boards:
        for run in b.runs:
            value = run.get(primary)
            if not is_number(value):
                continue
            key = (str(run.get("model")), b.dataset)
            if key not in best or (value > best[key][primary] if hib else value < best[key][primary]):
                best[key] = run
    return best


def _matrix_row(
    model: str, boards: Sequence[Board], best: Mapping[tuple[str, str], Mapping[str, Any]], primary: str
) -> Row:
    cells = [Cell(model, model, model_page(model))]
    for b in boards:
        run = best.get((model, b.dataset))
        if run is None:
            cells.append(Cell("", None))
        else:
            v = float(run[primary])
            cells.append(Cell(format_value(primary, v), v, run_page(str(run["run_id"])), title=str(run["run_id"])))
    return Row(model, cells)


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
        )
        for r in board.runs
        if is_number(r.get("rtfx")) and is_number(r.get(primary))
    ]
    return scatter_chart(points, "rtfx", primary, True, hib) if points else None


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
    if not series:
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
    primary = board.primary or ""
    index = next(i for i, c in enumerate(board.columns) if c.key == primary)
    winner = board.rows[0]
    return {
        "title": f"Most accurate on {board.title}",
        "text": f"{winner.cells[0].text}: {metric_spec(primary).label} {winner.cells[index].text} "
        f"({len(board.rows)} setups compared)",
        "href": f"index.html#{board.id}",
    }


def _most_wins(task: str, matrix: Board) -> dict[str, str]:
    wins = {row.cells[0].text: sum(1 for c in row.cells[1:] if c.best) for row in matrix.rows}
    top = max(wins, key=lambda m: wins[m])
    n = len(matrix.columns) - 1
    return {
        "title": f"Across {n} {task} datasets",
        "text": f"{top} is best on {wins[top]} of {n} datasets ({metric_spec(matrix.primary or '').label})",
        "href": f"index.html#{matrix.id}",
    }
