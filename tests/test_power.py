"""Power shown, not implied (issue 15 item 4): every dataset name on the site and in ``compare`` carries
its sample count and minutes, and each leaderboard states the smallest difference of its primary metric
its set can resolve (half the width of the paired bootstrap interval of its top two rows).
Every expected value is worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modellab.results.store import ResultsStore
from modellab.site.load import Registry, load_results
from modellab.site.overview import overview
from modellab.site.power import board_size, minutes_text, resolution_text, size_text
from modellab.site.shaping import Board

DATASET = "toy_golden"


def _run_row(run_id: str, model: str, wer: float, n_failed: int = 0, n_samples: int = 5) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": "2026-01-01T10:00:00+00:00",
        "model": model,
        "task": "asr",
        "dataset": DATASET,
        "dataset_hash": "h1",
        "device": "cpu",
        "preprocessing": "none",
        "status": "ok",
        "n_samples": n_samples,
        "n_failed": n_failed,
        "normalizer": "basic",
        "model_params": "{}",
        "wer": wer,
    }


def _sample(run_id: str, i: int, ref_words: int, errors: int, duration: float, failed: bool = False) -> dict:
    words = " ".join(["word"] * ref_words)
    return {
        "run_id": run_id,
        "sample_id": f"s{i}",
        "reference": words,
        "hypothesis": None if failed else words,
        "error": "boom" if failed else None,
        "ref_words": ref_words,
        "wer": errors / ref_words,
        "substitutions": errors,
        "deletions": 0,
        "insertions": 0,
        "duration_s": duration,
        "compute_s": 0.1,
    }


def _write(store: ResultsStore, run: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    metrics = [{"run_id": run["run_id"], "name": "wer", "value": run["wer"], "higher_is_better": False}]
    store.write_run(run, samples, metrics)


def _boards(results_dir: Path) -> dict[str, Board]:
    built = overview(load_results(results_dir), Registry())
    return {b.dataset: b for b in built.boards}


def _note(board: Board, label: str) -> str:
    return dict(board.notes)[label]


def test_constant_difference_resolves_zero_points_and_states_n_and_minutes(tmp_path: Path) -> None:
    """5 samples of 2 reference words each; 'best' makes 0 errors on each, 'second' 1 on each. Every
    resample of the paired bootstrap gives Σ1·w / Σ2·w = 0.5, so the interval is [-0.5, -0.5] and its
    half-width 0: "≥ 0.00 WER points". Durations 6+12+18+24+30 = 90 s = 1.50 min. A third run failed
    sample s4 (24 s): it scored n=4 and 66 s = 1.10 min, so the board says its runs differ."""
    store = ResultsStore(tmp_path)
    durations = [6.0, 12.0, 18.0, 24.0, 30.0]
    _write(store, _run_row("best", "m_best", 0.0), [_sample("best", i, 2, 0, d) for i, d in enumerate(durations)])
    _write(store, _run_row("second", "m_second", 0.5), [_sample("second", i, 2, 1, d) for i, d in enumerate(durations)])
    third = [_sample("third", i, 2, 2, d, failed=(i == 3)) for i, d in enumerate(durations)]
    _write(store, _run_row("third", "m_third", 1.0, n_failed=1), third)

    board = _boards(tmp_path)[DATASET]
    assert [row.run_id for row in board.rows] == ["best", "second", "third"]
    assert board.title == f"{DATASET} (n=4–5, 1.10–1.50 min)"
    assert "scored different numbers of samples (4–5)" in _note(board, "Data")
    assert _note(board, "Resolves") == (
        "differences ≥ 0.00 WER points (half-width of the top two's 95% paired bootstrap interval "
        "over 5 shared samples)"
    )
    assert {r["run_id"]: (r["n_scored"], r["scored_s"]) for r in board.runs} == {
        "best": (5, 90.0),
        "second": (5, 90.0),
        "third": (4, 66.0),
    }


def test_two_samples_resolve_half_the_spread_of_their_differences(tmp_path: Path) -> None:
    """Two samples of 4 reference words. best: 0 and 1 errors (WER 1/8); second: 2 and 1 (WER 3/8).
    best − second per resample: both copies of s0 -> (0-2)/4 = -0.5; both of s1 -> 0; one each -> -0.25.
    Of 1000 resamples about 250 take each extreme, so the 2.5% and 97.5% quantiles are -0.5 and 0: the
    half-width is 0.25 = 25.00 WER points. Durations 30 + 45 s = 1.25 min."""
    store = ResultsStore(tmp_path)
    _write(store, _run_row("best", "m_best", 1 / 8), [_sample("best", 0, 4, 0, 30.0), _sample("best", 1, 4, 1, 45.0)])
    second = [_sample("second", 0, 4, 2, 30.0), _sample("second", 1, 4, 1, 45.0)]
    _write(store, _run_row("second", "m_second", 3 / 8), second)

    board = _boards(tmp_path)[DATASET]
    assert board.title == f"{DATASET} (n=2, 1.25 min)"
    assert "Data" not in dict(board.notes)
    assert _note(board, "Resolves").startswith("differences ≥ 25.00 WER points (")
    assert "-50.00 pts to +0.00 pts" in _note(board, "Best vs runner-up")  # the interval the half-width is of


def test_a_board_of_one_run_has_nothing_to_resolve(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    _write(store, _run_row("only", "m", 0.0), [_sample("only", 0, 3, 0, 120.0)])
    board = _boards(tmp_path)[DATASET]
    assert board.title == f"{DATASET} (n=1, 2.00 min)"
    assert _note(board, "Resolves") == "one run: nothing to resolve"


def test_size_and_resolution_texts() -> None:
    assert size_text(5, 9.649) == "n=5, 0.16 min"  # 9.649 s / 60 = 0.1608 min
    assert size_text(3, None) == "n=3"
    assert minutes_text(45 * 60) == "45.0" and minutes_text(185 * 60) == "185"
    assert board_size([{"run_id": "x"}]) is None  # no sizes recorded: nothing claimed
    same = board_size([{"n_scored": 5, "scored_s": 60.0}, {"n_scored": 5, "scored_s": 60.0}])
    assert same is not None and same.text == "n=5, 1.00 min" and not same.differs
    assert resolution_text("der", 3, 0.0123, 0.95, 7) == (
        "differences ≥ 1.23 DER points (half-width of the top two's 95% paired bootstrap interval over 7 shared samples)"
    )
    assert (
        resolution_text("bleu", 2, 1.5)
        == "differences ≥ 1.5 (BLEU) (half-width of the top two's paired bootstrap interval)"
    )
    assert resolution_text("wer", 2, None) == "no paired interval of the top two's WER: resolution unknown"


@pytest.fixture(scope="module")
def cards_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two dummy-model runs on cards_golden_v1 (5 clips; the manifest's durations 1.095 + 1.96 + 1.538
    + 1.554 + 3.502 = 9.649 s = 0.16 min)."""
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    results = tmp_path_factory.mktemp("power") / "results"
    for text in ("ten of clubs", "five five"):
        overrides = ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", f"model.options.text='{text}'"]
        run_config(compose_config([*overrides, f"results_dir={results}", "progress=false"]))
    return results


def test_site_pages_show_n_and_minutes_of_real_runs(cards_runs: Path, tmp_path: Path) -> None:
    from modellab.site import build_site
    from modellab.site.shaping import dataset_page

    site = build_site(cards_runs, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "cards_golden_v1 (n=5, 0.16 min)" in index
    assert "<b>Resolves:</b> differences ≥ " in index
    assert "cards_golden_v1 (n=5, 0.16 min)" in (site / "charts.html").read_text(encoding="utf-8")
    assert "(n=5, 0.16 min scored)" in (site / dataset_page("cards_golden_v1")).read_text(encoding="utf-8")


def test_compare_header_and_json_carry_n_and_minutes(cards_runs: Path) -> None:
    from modellab.analysis.compare import compare_runs, format_report
    from modellab.analysis.rundata import load_run
    from modellab.results.views import connect

    con = connect(cards_runs)
    base_id, cand_id = (r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall())
    comparison = compare_runs(load_run(con, base_id), load_run(con, cand_id), resamples=50)
    assert "dataset: cards_golden_v1 (n=5, 0.16 min paired)" in format_report(comparison).splitlines()[2]
    data = comparison.as_dict()
    assert data["dataset"] == "cards_golden_v1" and data["n"] == 5
    assert data["minutes"] == pytest.approx(9.649 / 60, abs=0.001)  # decoded lengths may differ by a sample
