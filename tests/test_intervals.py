"""Bootstrap intervals stored with every run's metrics (top-level config ``intervals``), by the
runner and by ``modellab.run.rescore``, and shown on leaderboards and run pages."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from modellab.app import run_config
from modellab.config.registry import compose_config
from modellab.metrics.stats import Intervals, bootstrap_ci, with_intervals
from modellab.results.views import connect
from modellab.run.rescore import rescore_run
from modellab.site import build_site
from modellab.site.load import Registry
from modellab.site.shaping import run_page


def _run(results: Path, *overrides: str):
    cfg = compose_config(
        [
            "+model=dummy_asr",
            "task=asr",
            "dataset=librivox_golden_v1",
            "model.options.text='he was not'",
            f"results_dir={results}",
            "progress=false",
            *overrides,
        ]
    )
    return run_config(cfg)


def _stored(results: Path, run_id: str) -> dict[str, tuple[float, float | None, float | None]]:
    rows = (
        connect(results)
        .execute("SELECT name, value, ci_low, ci_high FROM metrics WHERE run_id = ?", [run_id])
        .fetchall()
    )
    return {name: (value, low, high) for name, value, low, high in rows}


def test_a_run_stores_the_intervals_bootstrap_ci_gives_on_its_stored_samples(tmp_path: Path) -> None:
    results = tmp_path / "results"
    summary = _run(results, "intervals.resamples=400", "intervals.level=0.9", "seed=3")
    stored = _stored(results, summary.run_id)
    con = connect(results)
    for metric in ("wer", "cer", "wer_basic", "rtfx"):
        value, low, high = stored[metric]
        assert low is not None and high is not None, metric
        assert low <= value <= high, metric
        again = bootstrap_ci(con, summary.run_id, metric, resamples=400, seed=3, level=0.9)
        assert again is not None and (again.low, again.high) == pytest.approx((low, high)), metric
    assert stored["wer"][1] < stored["wer"][2]  # 5 samples with different error counts: a real spread
    _check_against_the_exact_bootstrap(con, summary.run_id, stored["wer"], level=0.9, resamples=400)
    assert stored["load_s"][1:] == (None, None)  # one load per run: nothing to resample
    assert con.execute("SELECT ci_level, ci_resamples FROM runs").fetchall() == [(0.9, 400)]


def _exact_bootstrap_distribution(errors: list[int], words: list[int]) -> list[tuple[float, float]]:
    """(pooled WER, probability) of every bootstrap draw of the samples, enumerated exactly: each
    multiset of n indices drawn with replacement has probability n! / (Π count_i!) / n^n."""
    n = len(errors)
    out = []
    for draw in itertools.combinations_with_replacement(range(n), n):
        counts = Counter(draw)
        ways = math.factorial(n) // math.prod(math.factorial(c) for c in counts.values())
        wer = sum(errors[i] * c for i, c in counts.items()) / sum(words[i] * c for i, c in counts.items())
        out.append((wer, ways / n**n))
    return out


def _check_against_the_exact_bootstrap(con, run_id: str, stored: tuple, level: float, resamples: int) -> None:
    """The stored percentile interval is checked against the exact bootstrap distribution computed
    here from the stored per-sample counts (not with the resampling code that made it): the
    probability mass below ``low`` and above ``high`` must each be about (1 - level) / 2, within
    Monte-Carlo error (sd ≈ sqrt(0.05 × 0.95 / 400) ≈ 0.011; allowed 0.04)."""
    rows = con.execute(
        "SELECT substitutions + deletions + insertions, ref_words FROM samples WHERE run_id = ? ORDER BY sample_id",
        [run_id],
    ).fetchall()
    errors, words = [int(e) for e, _ in rows], [int(w) for _, w in rows]
    value, low, high = stored
    assert value == pytest.approx(sum(errors) / sum(words))
    dist = _exact_bootstrap_distribution(errors, words)
    assert sum(p for _, p in dist) == pytest.approx(1.0)
    tail = (1 - level) / 2
    below, at_or_below_low = sum(p for w, p in dist if w < low - 1e-12), sum(p for w, p in dist if w <= low + 1e-12)
    above, at_or_above_high = sum(p for w, p in dist if w > high + 1e-12), sum(p for w, p in dist if w >= high - 1e-12)
    assert below <= tail + 0.04 and at_or_below_low >= tail - 0.04, (below, at_or_below_low)
    assert above <= tail + 0.04 and at_or_above_high >= tail - 0.04, (above, at_or_above_high)


def test_zero_resamples_store_no_interval_columns(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _run(results, "intervals.resamples=0")
    con = connect(results)
    assert "ci_low" not in {r[0] for r in con.execute("DESCRIBE metrics").fetchall()}
    assert "ci_level" not in {r[0] for r in con.execute("DESCRIBE runs_raw").fetchall()}
    site = build_site(results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    assert "Intervals:" not in (site / "index.html").read_text()  # a store without intervals still builds


def _forget_intervals(results: Path, run_id: str) -> None:
    """Make a stored run look like one from before intervals: no ``intervals`` in its config."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = results / "runs" / f"{run_id}.parquet"
    table = pq.read_table(path)
    config = json.loads(table.column("config")[0].as_py())
    del config["intervals"]
    index = table.column_names.index("config")
    pq.write_table(table.set_column(index, "config", pa.array([json.dumps(config)])), path)


def test_a_rescored_run_gets_intervals_of_its_new_scores(tmp_path: Path) -> None:
    results = tmp_path / "results"
    summary = _run(results, "intervals.resamples=0")
    _forget_intervals(results, summary.run_id)
    # same cell key (intervals are not part of it): force a new scoring of the stored outputs
    rescored = rescore_run(summary.run_id, [], str(results), force=True)
    assert rescored.run_id != summary.run_id
    stored = _stored(results, rescored.run_id)
    again = bootstrap_ci(connect(results), rescored.run_id, "wer", resamples=1000, seed=0)  # today's defaults
    assert again is not None and (stored["wer"][1], stored["wer"][2]) == pytest.approx((again.low, again.high))
    custom = rescore_run(summary.run_id, ["intervals.resamples=300"], str(results), force=True)
    again = bootstrap_ci(connect(results), custom.run_id, "wer", resamples=300, seed=0)
    stored = _stored(results, custom.run_id)
    assert again is not None and (stored["wer"][1], stored["wer"][2]) == pytest.approx((again.low, again.high))


def test_intervals_are_left_out_when_switched_off() -> None:
    rows = [{"run_id": "r", "name": "wer", "value": 0.5, "higher_is_better": False}]
    assert with_intervals([dict(r) for r in rows], [], {}, None, 0) == rows
    assert with_intervals([dict(r) for r in rows], [], {}, Intervals(0, 0.95), 0) == rows


def test_leaderboard_and_run_page_show_the_interval(tmp_path: Path) -> None:
    results = tmp_path / "results"
    summary = _run(results)
    _, low, high = _stored(results, summary.run_id)["wer"]
    site = build_site(results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    index = (site / "index.html").read_text()
    shown = f"{100 * low:.2f}% – {100 * high:.2f}%"
    assert re.search(rf"92\.96%<small>{re.escape(shown)}</small>", index)
    assert "95% bootstrap over samples, 1000 resamples" in index
    page = (site / run_page(summary.run_id)).read_text()
    assert re.search(rf"<code>wer</code></td><td[^>]*>92\.96%</td><td class=\"num\">{re.escape(shown)}</td>", page)


TIED = 'aria-label="may be tied with the best"'


def _wer_cells(html: str) -> str:
    """The WER cells of every board row (other columns carry marks of their own)."""
    return "".join(re.findall(r'<td [^>]*title="wer = .*?</td>', html, re.S))


def test_leaderboard_says_whether_the_best_beats_the_runner_up(tmp_path: Path) -> None:
    from modellab.analysis.compare import compare_runs
    from modellab.analysis.rundata import load_run

    results = tmp_path / "results"
    close = _run(results, "model.options.text='he was not an ill disposed young man'")
    far = _run(results, "model.options.text='nothing'", "model.name=dummy_far")
    con = connect(results)
    expected = compare_runs(load_run(con, far.run_id), load_run(con, close.run_id), ci_metrics={"wer"}).metric("wer")
    assert expected is not None and expected.ci is not None
    site = build_site(results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    note = re.search(r"Best vs runner-up:</b> ([^<]*)", (site / "index.html").read_text())
    assert note is not None
    text = note.group(1)
    assert text.startswith("dummy_asr − dummy_far: WER ")
    assert f"{100 * expected.ci.low:+.2f} pts to {100 * expected.ci.high:+.2f} pts" in text
    assert ("(significant;" in text) == expected.ci.significant
    assert (TIED in _wer_cells((site / "index.html").read_text())) == (not expected.ci.significant)


def test_a_runner_up_that_may_be_tied_with_the_best_is_marked(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _run(results, "model.options.text='he was not an ill disposed young man'")
    # one word off: worse on the one clip whose reference has "man", equal on the others
    twin = _run(results, "model.options.text='he was not an ill disposed young men'", "model.name=dummy_twin")
    site = build_site(results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    index = (site / "index.html").read_text()
    assert "dummy_asr − dummy_twin" in index and "(not significant: the two may be tied;" in index
    row = re.search(rf'<tr data-run="{twin.run_id}">(.*?)</tr>', index, re.S)
    assert row is not None and TIED in _wer_cells(row.group(1))
    # not separable: no ★ at all, both leaders are marked tied (issue 16: a winner only when the evidence holds)
    assert _wer_cells(index).count(TIED) == 2 and 'aria-label="best"' not in _wer_cells(index)


def test_an_equal_runner_up_is_tied_and_nobody_gets_the_star(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _run(results)
    _run(results, "model.name=dummy_twin")  # the same output: the same WER, ★ on both
    site = build_site(results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    index = (site / "index.html").read_text()
    assert "(not significant: the two may be tied;" in index
    assert _wer_cells(index).count(TIED) == 2 and 'aria-label="best"' not in _wer_cells(index)
