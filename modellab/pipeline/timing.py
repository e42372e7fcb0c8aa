"""The main command's own time: ``scripts/lab.sh`` records how long ``dvc repro`` took, so the README's
figure is generated (``python -m modellab report``, block ``main_command_time``), never typed.

``python -m modellab.pipeline.timing SECONDS`` writes ``results/lab/main_command.json``: the seconds,
when, the git sha, the machine and its load average. Copy a fresh clone's file to
``benchmarks/results/main_command.json`` to publish it (``results/`` is not committed).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from modellab.config import REPO_ROOT
from modellab.run.provenance import cpu_name, git_state, vector_isa

__all__ = ["TIMING_FILE", "main", "main_command_record", "write_main_command_record"]

TIMING_FILE = "results/lab/main_command.json"


def main_command_record(seconds: float, root: Path = REPO_ROOT) -> dict[str, Any]:
    """What one timed run of the main command's pipeline step was, and where it ran."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    sha, dirty = git_state(root)
    try:
        load: list[float] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "command": "bash scripts/lab.sh",
        "step": "dvc repro (setup excluded)",
        "seconds": round(float(seconds)),
        "_finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_sha": sha[:7] + ("+dirty" if dirty else ""),
        "machine": f"{cpu_name()} ({vector_isa().upper()}), {os.cpu_count()} cores",
        "load_average_at_end": load,
    }


def write_main_command_record(seconds: float, out: Path | None = None, root: Path = REPO_ROOT) -> Path:
    path = out or root / TIMING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(main_command_record(seconds, root), indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    # Its own entry point, not a subcommand of modellab.pipeline: the sweep stages run that module, so
    # everything it imports is a code dependency of every sweep in dvc.yaml.
    parser = argparse.ArgumentParser(prog="python -m modellab.pipeline.timing", description=__doc__.splitlines()[0])
    parser.add_argument("seconds", type=float, help="how long `dvc repro` took")
    args = parser.parse_args(argv)
    path = write_main_command_record(args.seconds)
    print(f"[lab] timing recorded in {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
