"""``python -m modellab.datasets [list|build NAME...|build --all]``: the dataset registry."""

from __future__ import annotations

import argparse
import json
import sys

from modellab.config import group_options
from modellab.config.registry import load_component

__all__ = ["main", "dataset_rows"]


def dataset_rows(build: bool = False) -> list[dict[str, object]]:
    rows = []
    for name in group_options("dataset"):
        if name.startswith("default_"):
            continue
        ds = load_component("dataset", name)
        row: dict[str, object] = {
            "dataset": ds.name,
            "tasks": ",".join(ds.tasks),
            "kind": ds.kind,
            "license": ds.license,
        }
        available = ds.available() if build else ds.is_built()
        if available:
            samples = ds.samples()
            hours = sum(s.duration_s or 0.0 for s in samples) / 3600
            row.update(samples=len(samples), hours=round(hours, 4), hash=ds.content_hash(), available="yes")
        else:
            row.update(
                samples="",
                hours="",
                hash="",
                available=f"no (build it: python -m modellab.datasets build {ds.name})" if ds.builder else "no",
            )
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.datasets")
    sub = parser.add_subparsers(dest="cmd")
    ls = sub.add_parser("list", help="list datasets (default)")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    b = sub.add_parser("build", help="build embedded datasets from what is installed")
    b.add_argument("names", nargs="*")
    b.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        names = group_options("dataset") if args.all or not args.names else args.names
        failed = 0
        for name in names:
            if name.startswith("default_"):
                continue
            ds = load_component("dataset", name)
            if not args.names and ds.needs_network and not ds.is_built():
                print(f"{name}: skipped (downloads; build it by name: python -m modellab.datasets build {name})")
                continue
            try:
                ds.ensure_built()
                print(f"{name}: {len(ds.samples())} samples, hash {ds.content_hash()}")
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                failed += 1
                print(f"{name}: not built: {exc}", file=sys.stderr)
        return 1 if failed and args.names else 0
    rows = dataset_rows()
    if getattr(args, "format", "table") == "json":
        print(json.dumps(rows, indent=1))
    else:
        from tabulate import tabulate

        print(tabulate(rows, headers="keys", tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
