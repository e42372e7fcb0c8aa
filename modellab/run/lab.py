"""``python -m modellab lab [--config conf/lab/default.yaml] [--only NAME]``: build data, run the
default sweeps, then the site. Each sweep is a ``python -m modellab -m ...`` with its overrides."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
import time

from modellab.config import CONF_DIR
from modellab.config.yamlfile import InvalidYAMLError, load_yaml
from modellab.logs import setup_cli_logging

__all__ = ["main", "sweeps"]

logger = logging.getLogger(__name__)


def sweeps(path: str) -> dict[str, list[str]]:
    cfg = load_yaml(path)
    return {name: list(overrides) for name, overrides in cfg.sweeps.items()}


def main(argv: list[str] | None = None) -> int:
    setup_cli_logging()
    parser = argparse.ArgumentParser(prog="python -m modellab lab")
    parser.add_argument("--config", default=str(CONF_DIR / "lab" / "default.yaml"))
    parser.add_argument("--only", action="append", help="run only these sweeps (repeatable)")
    parser.add_argument("--no-site", action="store_true")
    parser.add_argument("extra", nargs="*", help="extra overrides for every sweep, e.g. results_dir=/tmp/r")
    args = parser.parse_args(argv)
    try:
        lab_sweeps = sweeps(args.config)
    except InvalidYAMLError as exc:
        print(f"python -m modellab lab: {exc}", file=sys.stderr)
        return 2  # a config error (docs/exit-codes.md)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "modellab.datasets", "build", "--all"], check=True)
    failed = []
    for name, overrides in lab_sweeps.items():
        if args.only and name not in args.only:
            continue
        logger.info("[lab] sweep %s: %s", name, " ".join(overrides))
        proc = subprocess.run([sys.executable, "-m", "modellab", "-m", *overrides, "progress=false", *args.extra])
        if proc.returncode:
            failed.append(name)
    if not args.no_site and importlib.util.find_spec("modellab.site") is not None:
        subprocess.run([sys.executable, "-m", "modellab.site"], check=True)
    logger.info("[lab] done in %.0fs%s", time.perf_counter() - start, f"; failed sweeps: {failed}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
