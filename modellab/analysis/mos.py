"""Human evaluation (MOS): ingestion of the ratings of the site's listening-test page.

The site writes ``mos.html`` (``modellab.site.pages.mos``; alone: ``python -m modellab site
--page mos --out DIR``): listeners play each sample blind (shuffled, model names hidden), rate it
1-5, and export their ratings as JSON (:data:`FORMAT`). ``python -m modellab mos ingest
FILE...`` checks such files, keeps the raw ratings under ``results/ratings/`` and writes, for every rated run, the metrics ``mos``
(mean), ``mos_ci95`` (half-width of the 95 % Student-t interval), ``mos_n`` and ``mos_raters``
to ``results/metrics/<run_id>.mos.parquet``, so they appear as columns of the ``runs`` view. A
rater's latest rating of a sample wins, so re-exporting or re-ingesting never counts twice.
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
    "Rating",
    "ingest",
    "main",
    "mos_interval",
    "read_ratings",
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
        return 0
    command = PAGE_COMMAND.replace("DIR", args.site_dir) + f" --per-model {args.per_model}"
    print(f"modellab.analysis.mos: the rating page is written by the site now: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
