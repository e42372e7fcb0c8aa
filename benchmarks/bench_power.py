"""How many prompts a paired WER comparison needs: resample a full set's per-prompt errors of two runs.

For the latest run of each model on the dataset (paired by sample), the script prints the full set's
paired bootstrap interval of the WER difference (candidate - baseline, ratio of summed errors to summed
reference words, as ``python -m modellab compare``), then, per subset size n, draws seeded random
subsets of n prompts without replacement (as the seeded ``_sNN`` sets are drawn) and reports the
half-width of each subset's paired interval: median, 10th and 90th percentile, and the share of draws
under the target half-width.

    .venv/bin/python -m benchmarks.bench_power --results-dir results [--dataset asterisk_en_v2]
        [--baseline faster_whisper --candidate faster_whisper_base] [--sizes 40,80,120,160,200,250]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from benchmarks.common import Report

__all__ = ["half_width", "main", "paired_errors", "subset_half_widths"]


def paired_errors(results_dir: str, dataset: str, baseline: str, candidate: str) -> np.ndarray:
    """Rows (baseline errors, candidate errors, reference words) per shared sample of the latest runs."""
    from modellab.results.views import connect

    con = connect(results_dir)
    latest = "SELECT run_id FROM runs WHERE model = ? AND dataset = ? ORDER BY started_at DESC LIMIT 1"
    runs = [con.execute(latest, [model, dataset]).fetchone() for model in (baseline, candidate)]
    if None in runs:
        raise SystemExit(f"{results_dir}: no run of {baseline} and {candidate} on {dataset}")
    sql = (
        "SELECT a.substitutions + a.deletions + a.insertions, b.substitutions + b.deletions + b.insertions, "
        "a.ref_words FROM samples a JOIN samples b USING (sample_id) WHERE a.run_id = ? AND b.run_id = ? "
        "AND a.error IS NULL AND b.error IS NULL ORDER BY sample_id"
    )
    return np.array(con.execute(sql, [runs[0][0], runs[1][0]]).fetchall(), dtype=float)


def half_width(rows: np.ndarray, rng: np.random.Generator, resamples: int) -> tuple[float, float, float]:
    """(delta, low, high) in WER points: the paired percentile bootstrap of candidate - baseline."""
    picks = rng.integers(0, len(rows), (resamples, len(rows)))
    sums = rows[picks].sum(axis=1)  # (resamples, 3)
    deltas = 100 * (sums[:, 1] - sums[:, 0]) / sums[:, 2]
    low, high = np.percentile(deltas, [2.5, 97.5])
    total = rows.sum(axis=0)
    return float(100 * (total[1] - total[0]) / total[2]), float(low), float(high)


def subset_half_widths(rows: np.ndarray, n: int, draws: int, resamples: int, seed: int) -> np.ndarray:
    """Half-widths of the paired interval of ``draws`` random n-prompt subsets of ``rows``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        subset = rows[rng.choice(len(rows), size=n, replace=False)]
        _, low, high = half_width(subset, rng, resamples)
        out.append((high - low) / 2)
    return np.array(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_power", description=__doc__)
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--dataset", default="asterisk_en_v2")
    parser.add_argument("--baseline", default="faster_whisper")
    parser.add_argument("--candidate", default="faster_whisper_base")
    parser.add_argument("--sizes", default="40,80,120,160,200,250")
    parser.add_argument("--target", type=float, default=2.0, help="half-width in WER points")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", default="power_en")
    args = parser.parse_args(argv)

    rows = paired_errors(args.results_dir, args.dataset, args.baseline, args.candidate)
    report = Report(args.report)
    delta, low, high = half_width(rows, np.random.default_rng(args.seed), args.resamples)
    report.say(f"{args.candidate} - {args.baseline} on {args.dataset}: n={len(rows)}, ΔWER {delta:+.2f} points")
    report.say(f"full set: 95% paired interval [{low:+.2f}, {high:+.2f}], half-width {(high - low) / 2:.2f}")
    report.figures["full"] = {"n": len(rows), "delta": delta, "low": low, "high": high}
    report.say(f"| n | half-width median | 10th-90th percentile | share under ±{args.target:g} |")
    report.say("|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        widths = subset_half_widths(rows, min(n, len(rows)), args.draws, args.resamples, args.seed)
        figures: dict[str, Any] = {
            "median": float(np.median(widths)),
            "p10": float(np.percentile(widths, 10)),
            "p90": float(np.percentile(widths, 90)),
            "share_under_target": float(np.mean(widths < args.target)),
        }
        report.figures[str(n)] = figures
        report.say(
            f"| {n} | {figures['median']:.2f} | {figures['p10']:.2f}-{figures['p90']:.2f} "
            f"| {figures['share_under_target']:.0%} |"
        )
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
