"""The README's model table is generated (``python -m modellab models --markdown``), never edited by hand.

Only the ``runs here?`` column may differ: it says what this machine has installed (extras, weights),
so a fresh clone or a CI runner legitimately sees other values than the lab machine that wrote it.
"""

from __future__ import annotations

import re

import pytest

from modellab.config import REPO_ROOT
from modellab.models.__main__ import MARKDOWN_HEADERS, RUNS_HERE_HEADER, markdown_rows, markdown_table

START, END = "<!-- models:start -->", "<!-- models:end -->"
REGENERATE = f"run `python -m modellab models --markdown` and paste its output between {START} and {END} in README.md"


def _readme_table(text: str) -> str:
    if START not in text or END not in text or text.index(START) > text.index(END):
        pytest.fail(f"README.md has no {START} ... {END} block: {REGENERATE}")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def _cells(table: str) -> list[list[str]]:
    """The table's rows as cell lists (escaped ``\\|`` stays inside its cell), ``runs here?`` dropped."""
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]] for line in table.splitlines() if line]
    if not rows or RUNS_HERE_HEADER not in rows[0]:
        return rows
    drop = rows[0].index(RUNS_HERE_HEADER)
    return [row[:drop] + row[drop + 1 :] for row in rows]


def test_readme_model_table_is_the_generated_one() -> None:
    readme = _readme_table((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    generated = markdown_table(markdown_rows())
    assert _cells(readme) == _cells(generated), f"README.md's model table is out of date: {REGENERATE}"


def test_markdown_table_escapes_pipes_and_keeps_the_header_order() -> None:
    row = dict.fromkeys(MARKDOWN_HEADERS, "x")
    row["licence"] = "MIT | BSD"
    row[RUNS_HERE_HEADER] = "no extra"
    table = markdown_table([row])
    assert table.splitlines() == [
        "| config | family (adapter) | weights | params | licence | status | tasks | extra | runs here? |",
        "|---|---|---|---|---|---|---|---|---|",
        "| x | x | x | x | MIT \\| BSD | x | x | x | no extra |",
    ]
    assert _cells(table)[2] == ["x", "x", "x", "x", "MIT \\| BSD", "x", "x", "x"]  # runs here? dropped


def test_the_comparison_ignores_only_the_runs_here_column() -> None:
    row = dict.fromkeys(MARKDOWN_HEADERS, "x")
    here, elsewhere = markdown_table([{**row, RUNS_HERE_HEADER: "yes"}]), markdown_table([row])
    assert _cells(here) == _cells(elsewhere)
    assert _cells(markdown_table([{**row, "status": "production"}])) != _cells(elsewhere)


def test_missing_markers_say_which_command_to_run() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"python -m modellab models --markdown"):
        _readme_table("# README without the block\n")
