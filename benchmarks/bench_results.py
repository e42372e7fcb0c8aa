"""Goal 6 (results at scale) and goal 5's "compact into few Parquet files".

A results store of 100k sample rows (2,000 runs × 50 samples) is written through the real
store (one Parquet file per run and table, as workers write them), cloned from a real run of the
dummy model with varied models, datasets and scores. Timed, before and after
``python -m modellab.results.compact``: ``python -m modellab query`` of leaderboard aggregates
(end to end, process start included), and ``python -m modellab.site`` rebuilding the site.

    .venv/bin/python -m benchmarks.bench_results [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from benchmarks.common import Report, cli, scratch_dir

LEADERBOARD = (
    "SELECT model, dataset, count(*) AS runs, avg(wer) AS wer, avg(rtfx) AS rtfx "
    "FROM runs WHERE status <> 'failed' GROUP BY model, dataset ORDER BY wer LIMIT 20"
)
PER_SAMPLE = (
    "SELECT r.model, count(*) AS samples, avg(s.wer) AS mean_sample_wer, "
    "sum(s.gates_passed::INT) AS gates_passed FROM samples s JOIN runs_raw r USING (run_id) "
    "GROUP BY r.model ORDER BY mean_sample_wer"
)


def _template(tmp: Path) -> tuple[dict, list[dict], list[dict]]:
    from modellab.app import run_config
    from modellab.config.registry import compose_config
    from modellab.results.views import connect

    results = tmp / "template"
    run_config(
        compose_config(
            ["+model=dummy_asr", "task=asr", "dataset=synth_golden_v1", f"results_dir={results}", "progress=false"]
        )
    )
    con = connect(results)

    def rows(sql: str) -> list[dict]:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]

    return rows("SELECT * FROM runs_raw")[0], rows("SELECT * FROM samples"), rows("SELECT * FROM metrics")


def _perturb(text: object, rng: random.Random, run: int) -> object:
    """A hypothesis as another model would write it: one word changed, so texts differ per run
    (the site normalises and diffs them; identical clones would flatter any text cache)."""
    if not isinstance(text, str) or not text.split():
        return text
    words = text.split()
    words[rng.randrange(len(words))] = f"word{run}"
    return " ".join(words)


def _fill(root: Path, n_runs: int, template: tuple[dict, list[dict], list[dict]]) -> int:
    from modellab.results.store import ResultsStore

    run0, samples0, metrics0 = template
    store = ResultsStore(root)
    rng = random.Random(0)
    models = [f"model_{i:02d}" for i in range(10)]
    datasets = [f"dataset_{i:02d}" for i in range(10)]
    n_rows = 0
    for i in range(n_runs):
        run_id = f"20260101T{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}-{i:06x}"
        quality = rng.uniform(0.05, 0.6)
        run = {
            **run0,
            "run_id": run_id,
            "model": models[i % 10],
            "dataset": datasets[(i // 10) % 10],
            "cell_key": f"bench{i:06d}",
            "config": json.loads(run0["config"]) if isinstance(run0["config"], str) else run0["config"],
        }
        samples = [
            {
                **s,
                "run_id": run_id,
                "hypothesis": _perturb(s.get("hypothesis"), rng, i),
                "wer": quality * rng.uniform(0.5, 1.5),
                "compute_s": rng.uniform(0.1, 1.0),
            }
            for s in samples0
        ]
        metrics = [
            {
                **m,
                "run_id": run_id,
                "value": quality if m["name"] == "wer" else m["value"] * rng.uniform(0.8, 1.2),
            }
            for m in metrics0
        ]
        store.write_run(run, samples, metrics)
        n_rows += len(samples)
    return n_rows


def _query_times(report: Report, results: Path, label: str) -> dict[str, float]:
    from modellab.results.views import connect

    out = {}
    for name, sql in (("leaderboard", LEADERBOARD), ("per_sample", PER_SAMPLE)):
        run = cli("modellab.results.query", "--results-dir", str(results), "--format", "csv", sql)
        assert run.returncode == 0, run.stderr
        start = time.perf_counter()
        connect(results).sql(sql).fetchall()
        in_process = time.perf_counter() - start
        out[name] = run.wall_s
        out[f"{name}_in_process"] = in_process
        report.say(
            f"  {label}: python -m modellab query ({name}) {run.wall_s:.2f}s end to end, "
            f"{in_process:.3f}s connect + query in process"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_results", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)

    report = Report("results")
    tmp = scratch_dir("results")
    results = tmp / "results"
    start = time.perf_counter()
    n_rows = _fill(results, args.runs, _template(tmp))
    n_files = sum(1 for _ in results.glob("*/*.parquet"))
    report.say(
        f"store: {args.runs} runs, {n_rows} sample rows, {n_files} Parquet files, written in {time.perf_counter() - start:.0f}s"
    )
    report.figures["sample_rows"] = n_rows

    before = _query_times(report, results, f"{n_files} per-run files")
    site_before = cli("modellab.site", "--results-dir", str(results), "--out", str(tmp / "site-before"))
    report.say(
        f"  {n_files} per-run files: python -m modellab.site {site_before.wall_s:.2f}s (rc {site_before.returncode})"
    )

    compact = cli("modellab.results.compact", "--results-dir", str(results))
    assert compact.returncode == 0, compact.stderr
    n_after = sum(1 for _ in results.glob("*/*.parquet"))
    report.say(f"compaction: {n_files} -> {n_after} files in {compact.wall_s:.2f}s")
    report.figures.update(files_before=n_files, files_after=n_after, compact_s=round(compact.wall_s, 2))
    after = _query_times(report, results, f"{n_after} compacted files")
    site = cli("modellab.site", "--results-dir", str(results), "--out", str(tmp / "site"))
    report.say(f"  {n_after} compacted files: python -m modellab.site {site.wall_s:.2f}s (rc {site.returncode})")
    report.figures.update(
        query_before_compaction=before, query_after_compaction=after, site_before_s=round(site_before.wall_s, 2)
    )
    worst = max(after["leaderboard"], after["per_sample"])
    report.ratio("query_s", "leaderboard query, end to end (s, worst of two)", worst, "<= 1 s", worst <= 1.0)
    if site.returncode == 0:
        report.ratio("site_s", "site rebuild (s)", site.wall_s, "<= 10 s", site.wall_s <= 10.0)
    else:
        report.say(f"site rebuild failed: {site.stderr[-500:]}")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
