"""A block's rows, from the results store, from recorded JSON files or from paired comparisons of
runs, as a markdown table. A block whose runs or recorded files are not there raises
:class:`MissingDataError`, which ``report`` answers by keeping the committed block."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import duckdb

from modellab.analysis.compare import compare_runs
from modellab.analysis.report.blocks import Block, Column, Pair
from modellab.analysis.rundata import RunNotFoundError, has_runs, load_run, resolve_run
from modellab.analysis.rundata import rows as cursor_rows
from modellab.results.latest import latest_complete
from modellab.results.views import connect

__all__ = ["EMPTY", "MissingDataError", "ReportDataError", "json_rows", "markdown_table", "paired_rows", "store_rows"]

EMPTY = "–"  # a cell whose value is missing (NULL in the store)


class ReportDataError(LookupError):
    """A block's data does not fit it: a recorded key that is not there, a query or template that fails."""


class MissingDataError(ReportDataError):
    """A block's runs or recorded file are not there (yet): ``report`` keeps the committed block."""


def _fill_hint(block: Block) -> str:
    return f"fill it with: {block.source}" if block.source else "run the default sweep first: python -m modellab lab"


class _Formatter(string.Formatter):
    """str.format that writes ``EMPTY`` for a missing (None) value whatever its format spec."""

    def format_field(self, value: Any, format_spec: str) -> str:
        return EMPTY if value is None else super().format_field(value, format_spec)


_FORMAT = _Formatter()


def _add_intervals_view(con: Any) -> None:
    """``report_runs``: the ``runs`` view plus ``<metric>_ci_low`` / ``<metric>_ci_high`` per metric."""
    metric_cols = {r[0] for r in con.execute("DESCRIBE metrics").fetchall()}
    if not {"ci_low", "ci_high"} <= metric_cols:
        con.execute("CREATE VIEW report_runs AS SELECT * FROM runs")
        return
    names = [
        r[0] for r in con.execute("SELECT DISTINCT name FROM metrics WHERE ci_low IS NOT NULL ORDER BY 1").fetchall()
    ]
    pivot = ", ".join(
        f"max({bound}) FILTER (WHERE name = '{n}') AS \"{n}_{bound}\""
        for n in names
        if "'" not in n and '"' not in n
        for bound in ("ci_low", "ci_high")
    )
    if not pivot:
        con.execute("CREATE VIEW report_runs AS SELECT * FROM runs")
        return
    con.execute(
        "CREATE VIEW report_runs AS SELECT r.*, i.* EXCLUDE (run_id) FROM runs r "
        f"LEFT JOIN (SELECT run_id, {pivot} FROM metrics GROUP BY run_id) i USING (run_id)"
    )


def store_rows(block: Block, results_dir: str | Path) -> list[dict[str, Any]]:
    """The query's rows; with ``latest_by``, only the latest complete run of each group, in query order."""
    con = connect(results_dir)
    if not has_runs(con):
        raise MissingDataError(
            f"report block '{block.name}' ({block.file}): no runs in {results_dir} ({_fill_hint(block)})"
        )
    _add_intervals_view(con)
    try:
        found = cursor_rows(con.execute(block.query))
    except duckdb.BinderException as exc:  # a metric column the store has no run for yet
        raise MissingDataError(
            f"report block '{block.name}' ({block.file}): its query names a column no run in {results_dir} has "
            f"({str(exc).splitlines()[0]}; {_fill_hint(block)})"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - duckdb's error names the column or table
        raise ReportDataError(f"report block '{block.name}': its query fails on {results_dir}: {exc}") from exc
    if block.latest_by:
        order = {id(row): i for i, row in enumerate(found)}
        kept = latest_complete(found, key=lambda row: tuple(str(row.get(k)) for k in block.latest_by))
        found = sorted(kept, key=lambda row: order[id(row)])
    if not found:
        raise MissingDataError(
            f"report block '{block.name}' ({block.file}): no runs in {results_dir} match its query ({_fill_hint(block)})"
        )
    return found


def _recorded(block: Block, source: str, root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / source).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MissingDataError(f"report block '{block.name}': {source} is not there ({_fill_hint(block)})") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportDataError(f"report block '{block.name}': cannot read {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportDataError(f"report block '{block.name}': {source} is not a JSON object")
    return data


def json_rows(block: Block, root: Path) -> list[dict[str, Any]]:
    """One row per entry: each cell template filled from its recorded file's top-level keys (fixed text
    for an entry without a file)."""
    out = []
    for row in block.rows:
        data = _recorded(block, row.source, root) if row.source else {}
        cells = {}
        for header, template in row.cells.items():
            try:
                cells[header] = _FORMAT.format(template, **data)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise ReportDataError(
                    f"report block '{block.name}': {row.source} has no value for {template!r} ({exc!r})"
                ) from exc
        out.append({"_source": row.source or None, "_finished_at": data.get("_finished_at"), **cells})
    return out


def _paired_row(block: Block, pair: Pair, con: Any) -> dict[str, Any]:
    """``label``, both runs' ids and models, ``baseline``/``candidate`` values, ``delta``, ``low``/``high``
    (the 95% paired-bootstrap interval of candidate - baseline), all times ``scale``; ``n`` paired
    samples and their ``minutes``."""
    try:
        base = load_run(con, resolve_run(con, pair.baseline, pair.dataset))
        cand = load_run(con, resolve_run(con, pair.candidate, pair.dataset))
    except RunNotFoundError as exc:
        raise MissingDataError(
            f"report block '{block.name}' ({block.file}), pair '{pair.label}': {exc} ({_fill_hint(block)})"
        ) from exc
    cmp = compare_runs(base, cand, resamples=pair.resamples, seed=pair.seed, ci_metrics={pair.metric})
    if not cmp.comparability.comparable:
        raise ReportDataError(
            f"report block '{block.name}', pair '{pair.label}': not comparable: {cmp.comparability.reason()}"
        )
    found = cmp.metric(pair.metric)
    if found is None or found.baseline is None or found.candidate is None or found.ci is None:
        raise ReportDataError(
            f"report block '{block.name}', pair '{pair.label}': no paired interval of "
            f"'{pair.metric}' for {base.run_id} vs {cand.run_id}"
        )
    values = (found.baseline, found.candidate, found.candidate - found.baseline, found.ci.low, found.ci.high)
    scaled = {k: pair.scale * v for k, v in zip(("baseline", "candidate", "delta", "low", "high"), values, strict=True)}
    return {
        "label": pair.label,
        "dataset": pair.dataset,
        "metric": pair.metric,
        "baseline_model": base.row.get("model"),
        "candidate_model": cand.row.get("model"),
        **scaled,
        "n": cmp.n_paired,
        "minutes": cmp.paired_minutes,
        "run_id": cand.run_id,
        "_run_ids": [base.run_id, cand.run_id],
        "hardware": cand.row.get("hardware"),
    }


def paired_rows(block: Block, results_dir: str | Path) -> list[dict[str, Any]]:
    """One row per pair: the paired-bootstrap difference ``python -m modellab compare`` prints."""
    con = connect(results_dir)
    if not has_runs(con):
        raise MissingDataError(
            f"report block '{block.name}' ({block.file}): no runs in {results_dir} ({_fill_hint(block)})"
        )
    return [_paired_row(block, pair, con) for pair in block.pairs]


def _cell(column: Column, row: dict[str, Any], block: Block) -> str:
    try:
        text = _FORMAT.format(column.value, **row)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ReportDataError(
            f"report block '{block.name}': column '{column.header}' ({column.value!r}) does not fit its row ({exc!r})"
        ) from exc
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(block: Block, rows: list[dict[str, Any]]) -> str:
    """The block's columns over ``rows`` as a GitHub markdown table."""
    lines = [
        "| " + " | ".join(c.header for c in block.columns) + " |",
        "|" + "---|" * len(block.columns),
    ]
    lines += ["| " + " | ".join(_cell(c, row, block) for c in block.columns) + " |" for row in rows]
    return "\n".join(lines)
