"""Start-up: a whole ``python -m modellab +model=faster_whisper task=asr force=true`` process ÷ a
plain faster-whisper script (``benchmarks/plain_asr.py``) with the same weights, compute type,
threads, beam, files and one warm-up call, timed end to end as processes.

Runs are interleaved (lab, plain, then plain, lab, ...) so that a shared machine's drift hits both
alike; the figure is the median of the per-pair ratios, with their range. Also compared: CPU time
(user + system of the whole process, less moved than wall time by other jobs on a shared machine),
and cold start, process start to the first model output (the lab's ``runs.cold_start_s`` ÷ the plain
script's).

    .venv/bin/python -m benchmarks.bench_startup [--rounds 6] [--dataset librivox_golden_v1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from benchmarks.common import REPO, Report, cli, scratch_dir


def _ratio_line(label: str, ratios: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(ratios):.3f} "
        f"[min {min(ratios):.3f}, max {max(ratios):.3f}] over n={len(ratios)} interleaved pairs"
    )


def _plain_command(dataset: str, model: str) -> list[str]:
    """The plain script's arguments: the lab's own weights, device and files for this cell."""
    from modellab.app import build_cell
    from modellab.config.registry import compose_config
    from modellab.models.weights import resolve_weights

    cell = build_cell(compose_config([f"+model={model}", "task=asr", f"dataset={dataset}"]))
    files = [str(s.audio_path) for s in cell.dataset.samples()]
    o = cell.model.options
    return [
        str(REPO / "benchmarks" / "plain_asr.py"),
        resolve_weights(cell.model.weights, cell.model.name),
        *files,
        f"--threads={cell.device.threads}",
        f"--beam-size={o.beam_size}",
        f"--compute-type={cell.device.compute_type}",
        f"--language={o.language}",
    ]


def _lab_cold_start(results_dir: str) -> float:
    from modellab.results.views import connect

    rows = connect(results_dir).execute("SELECT cold_start_s FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()
    return float(rows[0][0])


def _plain(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the child's user + system) and cold start of one plain process."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"plain script failed (exit {os.waitstatus_to_exitcode(status)})")
        out.seek(0)
        cold = float(json.loads(out.read().strip().splitlines()[-1])["cold_start_s"])
    return wall, usage.ru_utime + usage.ru_stime, cold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_startup", description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--dataset", default="librivox_golden_v1")
    parser.add_argument("--model", default="faster_whisper")
    args = parser.parse_args(argv)

    report = Report("startup")
    results_dir = str(scratch_dir("startup"))
    plain_args = _plain_command(args.dataset, args.model)
    lab_args = ["modellab", f"+model={args.model}", "task=asr", f"dataset={args.dataset}", "force=true"]
    lab_args += [f"results_dir={results_dir}", "progress=false"]
    report.say(f"{args.model} on {args.dataset}: {len(plain_args) - 6} files; {args.rounds} rounds, interleaved")
    walls: dict[str, list[float]] = {"lab": [], "plain": []}
    cpus: dict[str, list[float]] = {"lab": [], "plain": []}
    colds: dict[str, list[float]] = {"lab": [], "plain": []}
    for i in range(args.rounds):
        for side in ("lab", "plain") if i % 2 == 0 else ("plain", "lab"):
            if side == "lab":
                run = cli(*lab_args)
                if run.returncode:
                    raise SystemExit(f"lab run failed (exit {run.returncode})")
                wall, cpu, cold = run.wall_s, run.cpu_s, _lab_cold_start(results_dir)
            else:
                wall, cpu, cold = _plain(plain_args)
            walls[side].append(wall)
            cpus[side].append(cpu)
            colds[side].append(cold)
        report.say(
            f"round {i + 1}: lab {walls['lab'][-1]:.2f}s (cpu {cpus['lab'][-1]:.2f}s, cold start "
            f"{colds['lab'][-1]:.2f}s), plain {walls['plain'][-1]:.2f}s (cpu {cpus['plain'][-1]:.2f}s, "
            f"cold start {colds['plain'][-1]:.2f}s)"
        )
    wall_ratios = [a / b for a, b in zip(walls["lab"], walls["plain"], strict=True)]
    cpu_ratios = [a / b for a, b in zip(cpus["lab"], cpus["plain"], strict=True)]
    cold_ratios = [a / b for a, b in zip(colds["lab"], colds["plain"], strict=True)]
    report.say(_ratio_line("whole process, lab ÷ plain", wall_ratios))
    report.say(_ratio_line("CPU time, lab ÷ plain", cpu_ratios))
    report.say(_ratio_line("cold start, lab ÷ plain", cold_ratios))
    report.figures.update(
        wall_s=walls,
        cpu_s=cpus,
        cold_start_s=colds,
        wall_ratio_per_pair=[round(r, 4) for r in wall_ratios],
        cpu_ratio_per_pair=[round(r, 4) for r in cpu_ratios],
        cold_start_ratio_per_pair=[round(r, 4) for r in cold_ratios],
        median_wall_s={side: statistics.median(v) for side, v in walls.items()},
        median_cpu_s={side: statistics.median(v) for side, v in cpus.items()},
        median_cpu_ratio=round(statistics.median(cpu_ratios), 4),
    )
    median = statistics.median(wall_ratios)
    report.ratio("startup", "whole-process ratio (median of pairs)", median, "<= 1.15", median <= 1.15)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
