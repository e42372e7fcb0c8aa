"""Human evaluation (MOS): ingestion of the ratings of the site's listening-test page.

The site writes ``mos.html`` (``modellab.site.pages.mos``; alone: ``python -m modellab site
--page mos --out DIR``): listeners play each sample blind (shuffled, model names hidden), rate it
1-5, and export their ratings as JSON (:data:`FORMAT`). ``python -m modellab mos ingest
FILE...`` checks such files, keeps the raw ratings under ``results/ratings/`` and writes, for every rated run, the metrics ``mos``
(mean), ``mos_ci95`` (half-width of the 95 % Student-t interval), ``mos_n`` and ``mos_raters``
to ``results/metrics/<run_id>.mos.parquet``, so they appear as columns of the ``runs`` view. A
rater's latest rating of a sample wins, so re-exporting or re-ingesting never counts twice.

:func:`predictor_correlations` sets the listeners against the predictors that need none (DNSMOS,
DistillMOS; :mod:`modellab.metrics.quality`): Spearman's rank correlation between each rated
sample's mean rating and the predictor's value for it, with n and a bootstrap interval over the
rated samples. ``ingest`` prints it and the site's ``mos.html`` shows it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "MosError",
    "MosScore",
    "PredictorCorrelation",
    "Rating",
    "human_scores",
    "ingest",
    "main",
    "mos_interval",
    "predictor_correlations",
    "read_ratings",
    "spearman",
]

FORMAT = "modellab-mos-ratings/1"  # the export format of the site's mos.html, read by ingest
PAGE_COMMAND = "python -m modellab site --page mos --out DIR"  # the rating page is the site's


class MosError(ValueError):
    """A ratings file cannot be used; the message names the file and the problem."""


@dataclass
class Rating:
    rater: str
    rater_id: str
    run_id: str
    sample_id: str
    score: int
    exported_at: str


@dataclass
class MosScore:
    """Mean opinion score of one group of ratings (a run, or all runs of a model)."""

    mos: float
    ci95: float | None  # half-width of the 95 % t-interval; None for a single rating
    n: int
    raters: int


def mos_interval(scores: list[int] | list[float], confidence: float = 0.95) -> tuple[float, float | None]:
    """Mean and the half-width of its Student-t confidence interval (None when n < 2)."""
    if not scores:
        raise ValueError("no scores")
    n = len(scores)
    mean = sum(scores) / n
    if n < 2:
        return mean, None
    from scipy.stats import t

    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    return mean, float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)


def _field(entry: Any, key: str, where: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, str) or not value:
        raise MosError(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value


def read_ratings(path: str | Path) -> list[Rating]:
    """Parse and check one exported ratings file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MosError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MosError(f"{path}: not a JSON ratings export ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise MosError(f'{path}: expected "format": "{FORMAT}" (an export of mos.html), got {got!r}')
    entries = doc.get("ratings")
    if not isinstance(entries, list) or not entries:
        raise MosError(f'{path}: "ratings" must be a non-empty list')
    rater = str(doc.get("rater") or "").strip() or "anonymous"
    rater_id = str(doc.get("rater_id") or "").strip() or rater
    exported_at = str(doc.get("exported_at") or "")
    ratings = []
    for i, entry in enumerate(entries):
        where = f"{path}: ratings[{i}]"
        score = entry.get("score") if isinstance(entry, dict) else None
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise MosError(f"{where}.score must be an integer from 1 to 5, got {score!r}")
        ratings.append(
            Rating(
                rater, rater_id, _field(entry, "run_id", where), _field(entry, "sample_id", where), score, exported_at
            )
        )
    return ratings


def _latest_per_rater(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """rows of (rater_id, run_id, sample_id, score, exported_at, ...): one per rater and sample, latest export."""
    best: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for row in rows:
        key = (row[0], row[1], row[2])
        if key not in best or str(row[4]) >= str(best[key][4]):
            best[key] = row
    return list(best.values())


def _score(rows: list[tuple[Any, ...]]) -> MosScore:
    mean, ci = mos_interval([int(r[3]) for r in rows])
    return MosScore(mean, ci, len(rows), len({r[0] for r in rows}))


def ingest(paths: list[str | Path], results_dir: str | Path | None = None) -> dict[str, MosScore]:
    """Add the ratings files to the results; rewrite the MOS metrics of every rated run.

    Returns MOS per model (pooled over that model's rated runs) for display.
    """
    import duckdb

    from modellab.results.store import ResultsStore
    from modellab.results.views import connect

    store = ResultsStore(results_dir)
    con = connect(store.root)
    runs = {r[0]: r[1] for r in con.execute("SELECT run_id, model FROM runs_raw").fetchall()}
    batches = []
    for path in paths:
        ratings = read_ratings(path)
        unknown = sorted({r.run_id for r in ratings} - set(runs))
        if unknown:
            raise MosError(
                f"{path}: rates runs that are not in the results store {store.root}: {unknown[:5]}"
                f"{' ...' if len(unknown) > 5 else ''} (ingest into the results the page was built from: --results-dir)"
            )
        batches.append((Path(path), ratings))
    ingested_at = datetime.now(timezone.utc).isoformat()
    for path, ratings in batches:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        records = [
            {
                "rating_file": digest,
                "source": path.name,
                "rater": r.rater,
                "rater_id": r.rater_id,
                "run_id": r.run_id,
                "model": runs[r.run_id],
                "sample_id": r.sample_id,
                "score": r.score,
                "exported_at": r.exported_at,
                "ingested_at": ingested_at,
            }
            for r in ratings
        ]
        store.write_atomic("ratings", digest, records)  # same file again: same name, replaced
    glob = str(store.root / "ratings" / "*.parquet").replace("'", "''")
    relation = duckdb.sql(
        f"SELECT rater_id, run_id, sample_id, score, exported_at, model FROM read_parquet('{glob}', union_by_name=true)"
    )
    assert relation is not None, "a SELECT always yields a relation"
    all_rows = relation.fetchall()
    rows = _latest_per_rater(all_rows)
    touched = {r.run_id for _, ratings in batches for r in ratings}
    for run_id in sorted(touched):
        score = _score([r for r in rows if r[1] == run_id])
        metrics: list[tuple[str, float | None, bool | None]] = [
            ("mos", score.mos, True),
            ("mos_ci95", score.ci95, False),
        ]
        metrics += [("mos_n", float(score.n), None), ("mos_raters", float(score.raters), None)]
        store.write_atomic(
            "metrics",
            f"{run_id}.mos",
            [
                {"run_id": run_id, "name": name, "value": float(value), "higher_is_better": hib}
                for name, value, hib in metrics
                if value is not None
            ],
        )
    per_model: dict[str, MosScore] = {}
    for model in sorted({runs[run_id] for run_id in touched}):
        per_model[model] = _score([r for r in rows if r[5] == model])
    return per_model


@dataclass
class PredictorCorrelation:
    """Spearman's rho between a predictor and the human MOS of the rated samples that have both."""

    predictor: str  # a samples column, e.g. dnsmos_ovrl
    n: int  # rated samples with a value of the predictor
    rho: float | None  # None when n < 3 or either side is constant
    low: float | None  # percentile bootstrap interval over the rated samples
    high: float | None
    level: float


def _ranks(values: Any) -> Any:
    from scipy.stats import rankdata

    return rankdata(values, axis=-1)


def spearman(x: Any, y: Any) -> Any:
    """Spearman's rho (average ranks for ties) of paired rows: ``x``, ``y`` shaped (n,) or (replicates, n).
    NaN where a side is constant."""
    import numpy as np

    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rx * ry).sum(axis=-1) / np.sqrt((rx**2).sum(axis=-1) * (ry**2).sum(axis=-1))


def human_scores(con: Any) -> dict[tuple[str, str], float]:
    """(run_id, sample_id) -> mean rating (each rater's latest), from the ``ratings`` view; {} without one."""
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    if "ratings" not in views:
        return {}
    rows = _latest_per_rater(
        con.execute("SELECT rater_id, run_id, sample_id, score, exported_at FROM ratings").fetchall()
    )
    grouped: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        grouped.setdefault((str(row[1]), str(row[2])), []).append(int(row[3]))
    return {key: sum(scores) / len(scores) for key, scores in grouped.items()}


def predictor_correlations(
    con: Any, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> list[PredictorCorrelation]:
    """Each MOS predictor stored in ``samples`` against the human MOS of the rated samples."""
    import numpy as np

    from modellab.metrics.quality import MOS_PREDICTOR_COLUMNS

    human = human_scores(con)
    columns = {r[0] for r in con.execute("DESCRIBE samples").fetchall()}
    present = [c for c in MOS_PREDICTOR_COLUMNS if c in columns]
    if not human or not present:
        return []
    query = f"SELECT run_id, sample_id, {', '.join(present)} FROM samples"
    predicted = {(str(r[0]), str(r[1])): r[2:] for r in con.execute(query).fetchall()}
    rng = np.random.default_rng(seed)
    out = []
    for j, column in enumerate(present):
        pairs = [
            (h, float(predicted[k][j])) for k, h in human.items() if k in predicted and predicted[k][j] is not None
        ]
        out.append(_correlation(column, np.array(pairs, dtype=float).reshape(-1, 2), rng, resamples, level))
    return out


def _correlation(column: str, pairs: Any, rng: Any, resamples: int, level: float) -> PredictorCorrelation:
    import numpy as np

    n = len(pairs)
    rho = float(spearman(pairs[:, 0], pairs[:, 1])) if n >= 3 else float("nan")
    if not np.isfinite(rho):
        return PredictorCorrelation(column, n, None, None, None, level)
    idx = rng.integers(0, n, size=(resamples, n))
    reps = spearman(pairs[idx, 0], pairs[idx, 1])
    reps = reps[np.isfinite(reps)]
    alpha = (1 - level) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha])) if reps.size else (None, None)
    return PredictorCorrelation(column, n, rho, low, high, level)


def _print_correlations(correlations: list[PredictorCorrelation]) -> None:
    from tabulate import tabulate

    table = [
        {
            "predictor": c.predictor,
            "Spearman rho": "" if c.rho is None else round(c.rho, 3),
            f"{100 * c.level:.0f}% CI": "" if c.low is None else f"[{c.low:.2f}, {c.high:.2f}]",
            "n": c.n,
        }
        for c in correlations
    ]
    print("\nPredictors vs listeners (rated samples):")
    print(tabulate(table, headers="keys", tablefmt="github"))


def _print_table(per_model: dict[str, MosScore]) -> None:
    from tabulate import tabulate

    table = [
        {
            "model": model,
            "MOS": round(s.mos, 3),
            "±95% CI": "" if s.ci95 is None else round(s.ci95, 3),
            "ratings": s.n,
            "raters": s.raters,
        }
        for model, s in per_model.items()
    ]
    print(tabulate(table, headers="keys", tablefmt="github"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab mos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ing = sub.add_parser("ingest", help="add exported ratings (JSON from mos.html) to the results")
    ing.add_argument("files", nargs="+")
    page = sub.add_parser("page", help=f"moved to the site: {PAGE_COMMAND}")
    page.add_argument("site_dir")
    page.add_argument("--per-model", type=int, default=12, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cmd == "ingest":
        try:
            per_model = ingest(args.files, args.results_dir)
        except MosError as exc:
            print(f"modellab.analysis.mos: {exc}", file=sys.stderr)
            return 2
        _print_table(per_model)
        from modellab.results.views import connect

        correlations = predictor_correlations(connect(args.results_dir))
        if correlations:
            _print_correlations(correlations)
        return 0
    command = PAGE_COMMAND.replace("DIR", args.site_dir) + f" --per-model {args.per_model}"
    print(f"modellab.analysis.mos: the rating page is written by the site now: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
