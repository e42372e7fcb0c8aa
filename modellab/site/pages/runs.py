"""``runs.html``: every run, newest first, with its status; and the run tables of model and dataset pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import Results
from modellab.site.shaping import Board, Cell, Column, build_board

__all__ = ["RUN_LIST_LIMIT", "recent_runs_board", "write_runs_page"]

RUN_LIST_LIMIT = 200  # runs listed on a model or dataset page (runs.html lists all)
_RUN_COLUMNS = ("model", "task", "dataset", "preprocessing", "setup")


def write_runs_page(writer: PageWriter, results: Results) -> Path:
    board = build_board("all-runs", "All runs", "", "", results.runs, results.directions, lead=_RUN_COLUMNS)
    _add_status(board, results.runs)
    return writer.write("runs.html", "runs.html", title="Runs", board=board)


def recent_runs_board(board_id: str, runs: Sequence[Mapping[str, Any]], results: Results) -> Board:
    """The newest :data:`RUN_LIST_LIMIT` of ``runs`` as a table with their status."""
    shown = list(runs)[:RUN_LIST_LIMIT]
    board = build_board(board_id, "Runs", "", "", shown, results.directions, lead=_RUN_COLUMNS)
    _add_status(board, shown)
    return board


def _add_status(board: Board, runs: Sequence[Mapping[str, Any]]) -> None:
    by_id = {str(r["run_id"]): r for r in runs}
    board.columns.insert(1, Column("status", "Status"))
    for row in board.rows:
        status = str(by_id[row.run_id].get("status"))
        row.cells.insert(1, Cell(status, status, cls="ok" if status == "ok" else "fail"))
