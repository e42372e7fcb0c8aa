"""Which run counts for a setup: the latest complete one. The one definition, used by the analysis
commands (compare, baselines, findings, promote) and the site.

A run is complete when its status is ``ok`` or ``partial`` (some samples failed, the rest scored);
of the complete runs sharing a key (a model on a dataset, a setup, ...) the one started last counts.
Pure Python over run rows (dicts from the ``runs`` view), so it needs no DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["COMPLETE_STATUSES", "is_complete", "latest_complete"]

COMPLETE_STATUSES: tuple[str, ...] = ("ok", "partial")

Run = TypeVar("Run", bound=Mapping[str, Any])


def is_complete(run: Mapping[str, Any]) -> bool:
    """Whether a run row counts as evidence (status ``ok`` or ``partial``)."""
    return run.get("status") in COMPLETE_STATUSES


def _started(run: Mapping[str, Any]) -> str:
    return str(run.get("started_at") or "")


def latest_complete(runs: Iterable[Run], key: Callable[[Run], Hashable]) -> list[Run]:
    """The latest complete run of each ``key`` group, newest first.

    Runs started at the same instant: the first one given wins (order the rows to decide).
    """
    best: dict[Hashable, Run] = {}
    for run in runs:
        if not is_complete(run):
            continue
        group = key(run)
        if group not in best or _started(run) > _started(best[group]):
            best[group] = run
    return sorted(best.values(), key=_started, reverse=True)
