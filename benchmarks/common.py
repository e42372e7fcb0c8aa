"""Shared helpers of the benchmark scripts: the machine, CLI runs, and where results are written.

Every script prints its ratios and writes ``benchmarks/results/<name>.json`` (figures and the
machine they ran on) and ``<name>.txt`` (what it printed).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

__all__ = ["REPO", "RESULTS", "CliRun", "Report", "cli", "machine", "scratch_dir"]

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def scratch_dir(name: str) -> Path:
    """A temporary folder for a script's stores and sites, removed when the script ends (kept, and
    its path printed, with ``MODELLAB_BENCH_KEEP=1``): a bench_results store alone is ~400 MB."""
    path = Path(tempfile.mkdtemp(prefix=f"modellab-bench-{name}-"))
    if os.environ.get("MODELLAB_BENCH_KEEP"):
        print(f"# scratch folder kept: {path}")
    else:
        atexit.register(shutil.rmtree, path, True)
    return path


def machine() -> dict[str, Any]:
    from modellab.run.provenance import cpu_name

    return {
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


@dataclass
class CliRun:
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float  # high-water RSS of the child process (ru_maxrss)
    cpu_s: float = 0.0  # the child's user + system CPU seconds (less moved by other jobs than wall time)


def cli(*args: str, env: dict[str, str] | None = None) -> CliRun:
    """``python -m <args>`` in the repo, timed end to end (process start included), with the
    child's own high-water RSS (``wait4``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=REPO,
            env={**os.environ, "PYANNOTE_METRICS_ENABLED": "false", "HF_HUB_OFFLINE": "1", **(env or {})},
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        sys.stderr.write(stdout[-3000:] + stderr[-5000:])
    return CliRun(wall, proc.returncode, stdout, stderr, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


class Report:
    """Collects lines (printed as they come) and figures; ``save()`` writes both."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.figures: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.machine = machine()
        self.say(
            f"# {name} on {self.machine['cpu']}, {self.machine['cores']} cores, load {self.machine['load_avg_at_start']}"
        )

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def ratio(self, key: str, label: str, value: float, goal: str, ok: bool) -> None:
        self.figures[key] = {"value": round(value, 4), "goal": goal, "met": ok}
        self.say(f"{label}: {value:.4f} (goal {goal}: {'met' if ok else 'NOT met'})")

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.figures["_machine"] = self.machine
        self.figures["_finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.figures["_load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.say(f"# done in {time.perf_counter() - self.started:.0f}s, load at end {self.figures['_load_avg_at_end']}")
        (RESULTS / f"{self.name}.json").write_text(json.dumps(self.figures, indent=1, default=str) + "\n")
        (RESULTS / f"{self.name}.txt").write_text("\n".join(self.lines) + "\n")
        return RESULTS / f"{self.name}.json"
