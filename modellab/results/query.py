"""``python -m modellab query "SQL" [--format table|csv|json] [--results-dir DIR]``.

Views: ``runs`` (one row per run, main metrics as columns), ``samples``, ``metrics`` (long form).
"""

from __future__ import annotations

import argparse
import json
import sys

import duckdb

from modellab.results.store import default_results_dir
from modellab.results.views import connect

__all__ = ["main", "run_query"]


def run_query(sql: str, results_dir: str | None = None) -> tuple[list[str], list[tuple]]:
    con = connect(results_dir or default_results_dir())
    rel = con.sql(sql)
    if rel is None:
        return [], []
    return list(rel.columns), rel.fetchall()


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab query", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sql", help='e.g. "SELECT model, dataset, wer, rtfx FROM runs ORDER BY wer"')
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    args = parser.parse_args(argv)
    try:
        columns, rows = run_query(args.sql, args.results_dir)
    except duckdb.Error as exc:
        print(f"modellab.results.query: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=1))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from tabulate import tabulate

        print(tabulate([[_fmt(v) for v in r] for r in rows], headers=columns, tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
