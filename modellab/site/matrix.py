"""Summary tables built from the leaderboards: models × datasets of a task (with the mean over the
datasets every model ran on, as the Open ASR Leaderboard averages), models × languages, and one
board per language.

A cell is each model's best setup on that dataset; it carries the ★/☆ its run earned on the
dataset's own leaderboard (marks are never given across datasets or languages). Averages have no
interval, so they are never marked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modellab.site.catalog import format_value, metric_spec
from modellab.site.shaping import (
    Board,
    Cell,
    Column,
    Row,
    build_board,
    direction,
    is_number,
    latest_per_setup,
    model_page,
    run_page,
    slug,
)

__all__ = ["language_boards", "language_matrix", "model_dataset_matrix", "shared_columns", "shared_mean"]

Table = Mapping[str, Mapping[str, float]]  # model -> column -> value


def shared_columns(table: Table, columns: Sequence[str]) -> list[str]:
    """The ``columns`` on which every model of ``table`` has a value (in ``columns``' order)."""
    return [c for c in columns if table and all(c in values for values in table.values())]


def shared_mean(values: Mapping[str, float], shared: Sequence[str]) -> float | None:
    """The mean of ``values`` over the ``shared`` columns; None when there are none or one is missing."""
    if not shared or any(c not in values for c in shared):
        return None
    return sum(values[c] for c in shared) / len(shared)


def _best_runs(boards: Sequence[Board], primary: str, hib: bool | None) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(model, dataset) -> the model's best run on that dataset's leaderboard."""
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


def _board_marks(boards: Sequence[Board], primary: str) -> dict[str, Cell]:
    """run_id -> its primary-metric cell on its leaderboard (which holds the ★/☆ it earned there)."""
    out: dict[str, Cell] = {}
    for b in boards:
        index = next((i for i, c in enumerate(b.columns) if c.key == primary), None)
        if index is not None:
            out.update({row.run_id: row.cells[index] for row in b.rows})
    return out


def _run_cell(primary: str, run: Mapping[str, Any] | None, marks: Mapping[str, Cell]) -> Cell:
    if run is None:
        return Cell("", None)
    run_id = str(run["run_id"])
    mark = marks.get(run_id)
    value = float(run[primary])
    return Cell(
        format_value(primary, value),
        value,
        run_page(run_id),
        title=f"{run_id}; the ★/☆ are from this dataset's leaderboard",
        sub=mark.sub if mark else "",
        best=bool(mark and mark.best),
        tied=bool(mark and mark.tied),
    )


def _mean_cell(primary: str, value: float | None, n: int) -> Cell:
    if value is None:
        return Cell("—", None, title="no run on every shared dataset")
    return Cell(
        format_value(primary, value),
        value,
        title=f"mean over {n} shared datasets (no interval, never ★)",
        sub=f"mean of {n} datasets",
    )


def model_dataset_matrix(task: str, boards: Sequence[Board], directions: Mapping[str, bool | None]) -> Board | None:
    """Models × the task's datasets on its primary metric, plus the mean over the shared datasets."""
    boards = [b for b in boards if b.task == task and b.primary]
    if not boards:
        return None
    primary = boards[0].primary or ""
    boards = [b for b in boards if b.primary == primary]
    if len(boards) < 2:
        return None
    hib = direction(primary, directions)
    best = _best_runs(boards, primary, hib)
    marks = _board_marks(boards, primary)
    datasets = [b.dataset for b in boards]
    table = {m: {d: float(r[primary]) for (mm, d), r in best.items() if mm == m} for m, _ in best}
    shared = shared_columns(table, datasets)
    label = metric_spec(primary).label
    columns = [Column("model", "Model")]
    columns += [Column(b.dataset, b.title, True, hib, f"{label} on {b.title}", metric=True) for b in boards]
    if shared:
        columns.append(Column("mean", f"Mean ({len(shared)} shared)", True, hib, "mean over " + ", ".join(shared)))
    rows = []
    for model in sorted(table):
        cells = [Cell(model, model, model_page(model))]
        cells += [_run_cell(primary, best.get((model, d)), marks) for d in datasets]
        if shared:
            cells.append(_mean_cell(primary, shared_mean(table[model], shared), len(shared)))
        rows.append(Row(model, cells))
    board = Board(f"matrix-{slug(task)}", task, "", f"{task}: {label} across datasets", columns, rows)
    board.primary = primary
    board.notes = [
        ("Metric", f"{label}, each model's best setup; ★/☆ as on each dataset's leaderboard"),
        ("Mean", f"over the {len(shared)} datasets every model ran on: {', '.join(shared)}" if shared else "none"),
    ]
    return board


def language_matrix(task: str, boards: Sequence[Board], directions: Mapping[str, bool | None]) -> Board | None:
    """Models × languages: per language, the mean of each model's best setup over the datasets in that
    language that every model with a run in it ran on. None when the runs have fewer than two languages."""
    boards = [b for b in boards if b.task == task and b.primary]
    if not boards:
        return None
    primary = boards[0].primary or ""
    boards = [b for b in boards if b.primary == primary]
    languages = _languages(boards)
    if len(languages) < 2:
        return None
    hib = direction(primary, directions)
    best = _best_runs(boards, primary, hib)
    marks = _board_marks(boards, primary)
    label = metric_spec(primary).label
    columns = [Column("model", "Model")]
    cells_by_model: dict[str, list[Cell]] = {}
    for language, datasets in languages.items():
        table = {m: {d: float(r[primary]) for (mm, d), r in best.items() if mm == m and d in datasets} for m, _ in best}
        table = {m: v for m, v in table.items() if v}
        shared = shared_columns(table, datasets)
        columns.append(Column(f"lang:{language}", language, True, hib, f"{label} on {', '.join(shared)}", metric=True))
        for model in {m for m, _ in best}:
            if len(shared) == 1:
                cell = _run_cell(primary, best.get((model, shared[0])), marks)
            else:
                cell = _mean_cell(primary, shared_mean(table.get(model, {}), shared), len(shared))
            cells_by_model.setdefault(model, []).append(cell)
    rows = [Row(m, [Cell(m, m, model_page(m)), *cells_by_model[m]]) for m in sorted(cells_by_model)]
    board = Board(f"languages-{slug(task)}", task, "", f"{task}: {label} by language", columns, rows)
    board.primary = primary
    board.notes = [("Metric", f"{label}, each model's best setup; a language with several datasets: their mean")]
    return board


def _languages(boards: Sequence[Board]) -> dict[str, list[str]]:
    """language -> its datasets (a dataset's language: the one its runs recorded)."""
    out: dict[str, list[str]] = {}
    for b in boards:
        langs = {str(r.get("language")) for r in b.runs if r.get("language")}
        if len(langs) == 1:
            out.setdefault(langs.pop(), []).append(b.dataset)
    return dict(sorted(out.items()))


def language_boards(task: str, runs: Sequence[Mapping[str, Any]], directions: Mapping[str, bool | None]) -> list[Board]:
    """One board per language of ``task``'s runs: each setup's newest run on every dataset in it."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for run in latest_per_setup([r for r in runs if r.get("task") == task]):
        if run.get("language"):
            groups.setdefault(str(run["language"]), []).append(run)
    boards = []
    for language, members in sorted(groups.items()):
        members.sort(key=lambda r: (str(r.get("dataset")), str(r.get("model"))))
        boards.append(
            build_board(
                f"lang-{slug(task)}-{slug(language)}",
                f"{task} · {language}",
                task,
                "",
                members,
                directions,
                lead=("model", "dataset", "preprocessing", "setup"),
            )
        )
    return boards
