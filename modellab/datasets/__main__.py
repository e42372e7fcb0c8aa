"""``python -m modellab.datasets [list|build NAME...|build --all]``: the dataset registry.

Exit codes of ``build``: 0 built (``--all``: whatever this machine can build; the rest are listed as
not built); 2 an unknown dataset name; 3 a named dataset could not be built."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from modellab.config import group_options
from modellab.config.registry import load_component
from modellab.config.yamlfile import EXIT_USAGE, run_reporting_config_errors
from modellab.datasets.base import Dataset
from modellab.logs import setup_cli_logging

__all__ = ["main", "dataset_rows"]

logger = logging.getLogger(__name__)

EXIT_CANNOT_RUN = 3


def _how_to_build(ds: Dataset) -> str:
    """The listing's ``available`` cell of a dataset that is not built here."""
    if ds.needs_network:
        return f"no (downloads once: HF_HUB_OFFLINE=0 python -m modellab.datasets build {ds.name})"
    return f"no (build it: python -m modellab.datasets build {ds.name})" if ds.builder else "no"


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
            "language": ds.language,
            "license": ds.license,
        }
        available = ds.available() if build else ds.is_built()
        if available:
            samples = ds.samples()
            hours = sum(s.duration_s or 0.0 for s in samples) / 3600
            row.update(
                samples=len(samples),
                minutes=round(hours * 60, 1),
                hours=round(hours, 4),
                hash=ds.content_hash(),
                available="yes",
            )
        else:
            row.update(
                samples="",
                minutes="",
                hours="",
                hash="",
                available=_how_to_build(ds),
            )
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """The command; a config that cannot be loaded (not valid YAML, not the schema) is one line, exit 2."""
    setup_cli_logging()
    return run_reporting_config_errors("python -m modellab.datasets", _run, argv)


def _run(argv: list[str] | None) -> int:
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
        unknown = [n for n in names if n not in group_options("dataset")]
        if unknown:
            valid = ", ".join(n for n in group_options("dataset") if not n.startswith("default_"))
            print(
                f"python -m modellab.datasets build: unknown dataset {', '.join(unknown)}; valid: {valid}",
                file=sys.stderr,
            )
            return EXIT_USAGE
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
                logger.error("%s: not built: %s", name, exc)
        return EXIT_CANNOT_RUN if failed and args.names else 0
    rows = dataset_rows()
    if getattr(args, "format", "table") == "json":
        print(json.dumps(rows, indent=1))
    else:
        from tabulate import tabulate

        print(tabulate(rows, headers="keys", tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
