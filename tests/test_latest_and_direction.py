"""The one definition of "the latest complete run" (modellab.results.latest) and of a metric's
direction (modellab.metrics.direction), which compare, baselines, findings, promote and the site share."""

from __future__ import annotations

from operator import itemgetter

from modellab.metrics.direction import higher_is_better
from modellab.results.latest import COMPLETE_STATUSES, is_complete, latest_complete


def _run(run_id: str, model: str, started: str, status: str = "ok") -> dict:
    return {"run_id": run_id, "model": model, "started_at": started, "status": status}


def test_latest_complete_keeps_the_newest_ok_or_partial_run_per_key_newest_first() -> None:
    runs = [
        _run("a1", "a", "2026-01-01T10:00:00"),
        _run("a2", "a", "2026-01-02T10:00:00", "partial"),  # newest complete run of a
        _run("a3", "a", "2026-01-03T10:00:00", "failed"),  # newer, but failed: not evidence
        _run("b1", "b", "2026-01-01T09:00:00"),
        _run("b2", "b", "2026-01-04T09:00:00", "running"),
        _run("c1", "c", "2026-01-05T09:00:00", "failed"),  # c has no complete run at all
    ]
    assert [r["run_id"] for r in latest_complete(runs, key=itemgetter("model"))] == ["a2", "b1"]


def test_latest_complete_ties_go_to_the_first_run_given() -> None:
    runs = [_run("x2", "m", "2026-01-01T10:00:00"), _run("x1", "m", "2026-01-01T10:00:00")]
    assert [r["run_id"] for r in latest_complete(runs, key=itemgetter("model"))] == ["x2"]
    assert [r["run_id"] for r in latest_complete(runs[::-1], key=itemgetter("model"))] == ["x1"]


def test_complete_statuses() -> None:
    assert COMPLETE_STATUSES == ("ok", "partial")
    assert is_complete({"status": "partial"}) and not is_complete({"status": "failed"}) and not is_complete({})


def test_direction_is_the_first_flag_that_says_else_the_fallback() -> None:
    assert higher_is_better(None, False, True) is False  # e.g. no rule; the baseline says lower is better
    assert higher_is_better(True, False) is True  # a gate rule's own direction wins over the recorded one
    assert higher_is_better(None, None) is None  # nobody says: no direction
    assert higher_is_better(None, fallback=False) is False  # the site catalogue's default
    assert higher_is_better(1) is True  # numpy/duckdb truthy flags come back as bool
