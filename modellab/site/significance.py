"""Is a leaderboard's best setup really better than the runner-up? A paired bootstrap of the
board's primary metric over the samples both runs share (:func:`modellab.analysis.compare.compare_runs`),
stated as a note above the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modellab.analysis.compare import compare_runs
from modellab.analysis.rundata import RunData
from modellab.site.catalog import format_value, metric_spec
from modellab.site.load import SAMPLES_TABLE, Results
from modellab.site.shaping import Board, variant_labels

__all__ = ["NOTE_LABEL", "RunnerUp", "best_vs_runner_up"]

NOTE_LABEL = "Best vs runner-up"


@dataclass(frozen=True)
class RunnerUp:
    """The note's ``text``; ``tied`` when the paired interval of the difference holds zero (the
    runner-up ``run_id`` may be as good as the best); ``half_width`` is half the interval's width, at
    ``level`` over ``n_paired`` shared samples (None where there is no interval)."""

    run_id: str
    text: str
    tied: bool = False
    half_width: float | None = None  # of the paired interval: the smallest difference the set resolves
    level: float | None = None
    n_paired: int | None = None


def _run_data(results: Results, run: dict[str, Any], samples: list[dict[str, Any]]) -> RunData:
    stored = results.metrics.get(str(run["run_id"]), [])
    return RunData(
        run_id=str(run["run_id"]),
        row=dict(run),
        metrics={m.name: float(m.value) for m in stored if m.value is not None},
        higher_is_better={m.name: m.higher_is_better for m in stored},
        samples=samples,
    )


def _difference(name: str, value: float) -> str:
    if metric_spec(name).unit == "rate":
        return f"{100 * value:+.2f} pts"
    return f"{value:+.4g}"


def best_vs_runner_up(board: Board, results: Results, resamples: int = 1000, seed: int = 0) -> RunnerUp | None:
    """Best vs runner-up on the board's primary metric, or None when the board has fewer than two
    ranked setups."""
    primary = board.primary
    if not primary:
        return None
    index = next(i for i, c in enumerate(board.columns) if c.key == primary)
    ranked = [row.run_id for row in board.rows if row.cells[index].sort is not None]
    if len(ranked) < 2:
        return None
    by_id = {str(r["run_id"]): dict(r) for r in board.runs}
    best, second = by_id[ranked[0]], by_id[ranked[1]]
    cursor = results.con.execute(
        f"SELECT * FROM {SAMPLES_TABLE} WHERE run_id IN (?, ?) ORDER BY sample_id", [ranked[0], ranked[1]]
    )
    names = [d[0] for d in cursor.description]
    samples: dict[str, list[dict[str, Any]]] = {ranked[0]: [], ranked[1]: []}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        samples[str(row["run_id"])].append(row)
    comparison = compare_runs(
        _run_data(results, second, samples[ranked[1]]),
        _run_data(results, best, samples[ranked[0]]),
        resamples,
        seed,
        rank_by=primary,
        ci_metrics={primary},
    )
    variants = variant_labels(board.runs)
    label = {rid: f"{by_id[rid].get('model')} {variants.get(rid, '')}".strip() for rid in ranked[:2]}
    delta = comparison.metric(primary)
    if delta is None or delta.delta is None:
        return None
    head = f"{label[ranked[0]]} − {label[ranked[1]]}: {metric_spec(primary).label} {_difference(primary, delta.delta)}"
    ci = delta.ci
    if ci is None:
        why = "; ".join(comparison.notes) or "the metric does not decompose over samples"
        return RunnerUp(ranked[1], f"{head}; no paired interval ({why})")
    verdict = "significant" if ci.significant else "not significant: the two may be tied"
    return RunnerUp(
        ranked[1],
        f"{head}, {100 * ci.level:.0f}% paired bootstrap over their {ci.n_paired} shared samples "
        f"{_difference(primary, ci.low)} to {_difference(primary, ci.high)} ({verdict}; "
        f"{format_value(primary, delta.candidate)} vs {format_value(primary, delta.baseline)})",
        tied=not ci.significant,
        half_width=(ci.high - ci.low) / 2,
        level=ci.level,
        n_paired=ci.n_paired,
    )
