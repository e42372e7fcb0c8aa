"""Short-file throughput: each throughput setting of faster-whisper (tiny.en) against the per-file
default on a real set of short prompts (``asterisk_en_v2``: 369 prompts, median 2.2 s), as whole
``python -m modellab`` processes.

Per setting: wall time and its ratio to the default's, the process's CPU seconds (user + system,
less sensitive than wall time to other jobs on a shared machine), RTFx, WER with its 95% bootstrap
interval, the paired WER delta against the default with its interval (``python -m modellab
compare``), and how many transcripts differ from the default's. Settings run interleaved, round
after round, in alternating order; the ratios are medians over rounds. The machine's load average
is printed before and after (other jobs move wall time more than CPU time).

RTFx is Σ audio s ÷ Σ model-call s. With ``parallel_files`` the runner times one call per
``files_per_batch × parallel_files × 8`` files (the files decoded at once on the replicas): its wall
time is shared among them by audio duration, so Σ model-call s is the wall time of the overlapping
calls, not the sum of each file's own decoding time.

    .venv/bin/python -m benchmarks.bench_throughput [--rounds 1] [--limit 0] [--dataset asterisk_en_v2]
        [--only parallel --only heap]   # the reference and the settings whose name contains a word
        [--report throughput]           # benchmarks/results/<report>.txt and .json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from benchmarks.common import REPO, Report, cli, scratch_dir

# name -> (overrides, what it does to accuracy)
SETTINGS: dict[str, tuple[list[str], str]] = {
    "as filed (heap_reuse_mb=0, 1 file per call, 30 s window)": (["+model.options.heap_reuse_mb=0"], "reference"),
    "default now (heap_reuse_mb=512)": ([], "exact: same transcripts"),
    "files_per_batch=8": (["+model.options.files_per_batch=8"], "exact: same transcripts"),
    "fit_window, margin 10 s": (
        ["+model.options.fit_window=true", "+model.options.fit_window_margin_s=10"],
        "changes accuracy",
    ),
    "default now + parallel_files=2 (2 replicas × 1 thread)": (
        ["+model.options.parallel_files=2"],
        "exact: same transcripts",
    ),
    "without_timestamps": (["+model.options.without_timestamps=true"], "changes accuracy"),
    "parallel_files=2 + fit_window, margin 10 s": (
        [
            "+model.options.parallel_files=2",
            "+model.options.fit_window=true",
            "+model.options.fit_window_margin_s=10",
        ],
        "changes accuracy",
    ),
}
DEFAULT = next(iter(SETTINGS))


def _query(results_dir: str, sql: str, params: list[Any]) -> list[tuple]:
    from modellab.results.views import connect

    return connect(results_dir).execute(sql, params).fetchall()


def _run_figures(results_dir: str, run_id: str) -> dict[str, float]:
    rows = _query(results_dir, "SELECT name, value, ci_low, ci_high FROM metrics WHERE run_id = ?", [run_id])
    out = {name: value for name, value, _, _ in rows}
    out.update({f"{name}_ci": [low, high] for name, _, low, high in rows if name == "wer"})
    return out


def _paired(results_dir: str, baseline: str, candidate: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "modellab", "compare", baseline, candidate, "--results-dir", results_dir, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    (wer,) = [m for m in json.loads(done.stdout)["metrics"] if m["metric"] == "wer"]
    return {"delta": wer["delta"], "low": wer["ci"]["low"], "high": wer["ci"]["high"], "n": wer["ci"]["n_paired"]}


def _differing(results_dir: str, baseline: str, candidate: str) -> int:
    sql = (
        "SELECT count(*) FROM samples a JOIN samples b USING (sample_id) WHERE a.run_id = ? AND b.run_id = ? "
        "AND coalesce(a.hypothesis, '') <> coalesce(b.hypothesis, '')"
    )
    return int(_query(results_dir, sql, [baseline, candidate])[0][0])


def _one_run(args: argparse.Namespace, results_dir: str, overrides: list[str]) -> dict[str, Any]:
    cell = [f"+model={args.model}", "task=asr", f"dataset={args.dataset}", "force=true", "progress=false"]
    limit = [f"+dataset.limit={args.limit}"] if args.limit else []
    run = cli("modellab", *cell, *limit, *overrides, f"results_dir={results_dir}")
    if run.returncode:
        raise SystemExit(f"run {overrides} failed (exit {run.returncode})")
    (run_id,) = _query(results_dir, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1", [])[0]
    return {"run_id": run_id, "wall_s": run.wall_s, "cpu_s": run.cpu_s, **_run_figures(results_dir, run_id)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_throughput", description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="first N samples only (0: the full set)")
    parser.add_argument("--dataset", default="asterisk_en_v2")
    parser.add_argument("--model", default="faster_whisper")
    parser.add_argument("--only", action="append", default=[], help="settings whose name contains this (repeatable)")
    parser.add_argument("--report", default="throughput", help="benchmarks/results/<report>.txt and .json")
    args = parser.parse_args(argv)

    report = Report(args.report)
    results_dir = str(scratch_dir("throughput"))
    names = chosen_settings(args.only)
    report.say(_load_average("before"))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(args.rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            runs[name].append(_one_run(args, results_dir, SETTINGS[name][0]))
            r = runs[name][-1]
            report.say(
                f"round {i + 1} {name}: {r['wall_s']:.1f}s wall, {r['cpu_s']:.1f}s CPU, WER {100 * r['wer']:.2f}%"
            )
    report.say(_load_average("after"))
    base = runs[names[0]]
    report.say(f"{args.model} on {args.dataset} ({base[0]['audio_s'] / 60:.1f} min of audio), {args.rounds} round(s)")
    report.say(
        "| setting | accuracy | wall s | CPU s | wall ÷ default | CPU ÷ default | RTFx | WER % [95% CI] "
        "| ΔWER points, paired [95% CI] | transcripts differing |"
    )
    report.say("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        row = _table_row(results_dir, name, runs[name], base)
        report.figures[name] = row
        report.say(_format_row(name, row))
    report.save()
    return 0


def chosen_settings(only: list[str]) -> list[str]:
    """The reference (the first setting) first, then every setting whose name contains one of ``only`` (all
    when empty)."""
    names = [name for name in SETTINGS if name == DEFAULT or not only or any(word in name for word in only)]
    if len(names) == 1 and only:
        raise SystemExit(f"--only {only}: no setting matches; the settings are {list(SETTINGS)}")
    return names


def _load_average(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def _table_row(results_dir: str, name: str, runs: list[dict[str, Any]], base: list[dict[str, Any]]) -> dict[str, Any]:
    last, reference = runs[-1], base[-1]
    return {
        "accuracy": SETTINGS[name][1],
        "runs": runs,
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "wall_ratio": statistics.median(r["wall_s"] / b["wall_s"] for r, b in zip(runs, base, strict=True)),
        "cpu_ratio": statistics.median(r["cpu_s"] / b["cpu_s"] for r, b in zip(runs, base, strict=True)),
        "rtfx": last["rtfx"],
        "wer": last["wer"],
        "wer_ci": last["wer_ci"],
        "paired_delta": _paired(results_dir, reference["run_id"], last["run_id"]),
        "n_differing": _differing(results_dir, reference["run_id"], last["run_id"]),
    }


def _format_row(name: str, row: dict[str, Any]) -> str:
    low, high = row["wer_ci"]
    d = row["paired_delta"]
    return (
        f"| {name} | {row['accuracy']} | {row['wall_s']:.1f} | {row['cpu_s']:.1f} | {row['wall_ratio']:.3f} | {row['cpu_ratio']:.3f} | "
        f"{row['rtfx']:.2f} | {100 * row['wer']:.2f} [{100 * low:.2f}, {100 * high:.2f}] | "
        f"{100 * d['delta']:+.2f} [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}] (n={d['n']}) | {row['n_differing']} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
