"""Boards say when one sample decides a pooled metric, and how many samples failed a transcript gate
(issue 23: "one sample must not decide silently"). Values worked out by hand in the comments."""

from __future__ import annotations

import duckdb

from modellab.site.load import _add_sample_flags
from modellab.site.shaping import MAX_ERROR_SHARE, _samples_cell


def test_worst_sample_share_and_gate_failures_per_run() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE samples (run_id VARCHAR, sample_id VARCHAR, substitutions BIGINT, deletions BIGINT, "
        "insertions BIGINT, gates_passed BOOLEAN)"
    )
    con.execute(
        "INSERT INTO samples VALUES "
        # run a: errors 1, 0, 9 -> the loop 'a3' carries 9/10; one gate failure
        "('a', 'a1', 1, 0, 0, true), ('a', 'a2', 0, 0, 0, true), ('a', 'a3', 2, 1, 6, false), "
        # run b: errors 2, 2 -> 2/4 = 0.5 in the first sample (arg_max breaks the tie either way)
        "('b', 'b1', 1, 1, 0, true), ('b', 'b2', 0, 0, 2, true), "
        # run c: no errors at all -> no share
        "('c', 'c1', 0, 0, 0, true)"
    )
    columns = {r[0]: str(r[1]) for r in con.execute("DESCRIBE samples").fetchall()}
    runs = {k: {"run_id": k} for k in "abc"}
    _add_sample_flags(con, columns, runs)
    assert runs["a"]["error_share"] == 0.9 and runs["a"]["error_share_sample"] == "a3"
    assert runs["a"]["n_gate_failed"] == 1
    assert runs["b"]["error_share"] == 0.5 and runs["b"]["n_gate_failed"] == 0
    assert runs["c"]["error_share"] is None


def test_the_samples_cell_flags_and_links_to_the_samples() -> None:
    run = {
        "run_id": "r1",
        "n_samples": 50,
        "n_failed": 0,
        "n_gate_failed": 2,
        "error_share": 0.674,
        "error_share_sample": "espeak-s09",
    }
    cell = _samples_cell(run)
    assert cell.text == "50/50" and cell.cls == "warn"
    assert cell.sub == "2 gate-failed · ⚠ 67% of errors in espeak-s09"
    assert cell.href is not None and cell.href.endswith("#samples")


def test_an_even_spread_and_a_single_sample_are_not_flagged() -> None:
    even = {"run_id": "r", "n_samples": 5, "n_failed": 0, "n_gate_failed": 0, "error_share": MAX_ERROR_SHARE}
    assert _samples_cell(even).sub == "" and _samples_cell(even).href is None  # at the threshold: not above it
    single = {"run_id": "r", "n_samples": 1, "n_failed": 0, "error_share": 1.0, "error_share_sample": "only"}
    assert _samples_cell(single).sub == ""  # one sample always carries all errors: nothing to say
    failed = {"run_id": "r", "n_samples": 5, "n_failed": 2}
    assert _samples_cell(failed).text == "3/5" and _samples_cell(failed).sub == "2 failed"
