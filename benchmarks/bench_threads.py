"""Goal 4 (threads): a sweep's throughput with 1 worker × 2 threads (the basic launcher) and with
2 workers × 1 thread (``hydra/launcher=parallel``, Hydra's joblib launcher), and the split the
policy chooses (:func:`modellab.device.choose_split`) ÷ the best of the two.

Throughput = Σ audio seconds of the sweep's cells ÷ the sweep's wall time (process start, model
loads in every worker, everything). The configurations alternate over ``--repeats`` rounds and
the fastest round of each counts, so other load on a shared machine hits both alike.

    .venv/bin/python -m benchmarks.bench_threads [--repeats 2]
"""

from __future__ import annotations

import argparse

from benchmarks.common import Report, cli, scratch_dir

CELLS = [
    "+model=faster_whisper",
    "task=asr",
    "dataset=librivox_golden_v1,cards_golden_v1,call_turns_golden_v1,asr_smoke_v1",
    "preprocessing=none,normalize_loudness",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_threads", description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from modellab.device import available_cores, choose_split
    from modellab.results.views import connect

    report = Report("threads")
    cores = available_cores()
    n_cells = 8
    splits = {(1, cores): [f"device.threads={cores}"], (cores, 1): ["hydra/launcher=parallel", "device.threads=1"]}
    chosen = choose_split(n_cells, cores)
    report.say(f"sweep: {' '.join(CELLS)} ({n_cells} cells); splits {list(splits)}; policy chooses {chosen}")
    cli("modellab.datasets", "build", "librivox_golden_v1", "cards_golden_v1", "call_turns_golden_v1", "asr_smoke_v1")

    best: dict[tuple[int, int], float] = {}
    for round_ in range(args.repeats):
        order = list(splits) if round_ % 2 == 0 else list(reversed(splits))
        for split in order:
            tmp = scratch_dir("threads")
            run = cli(
                "modellab",
                "-m",
                *CELLS,
                *splits[split],
                f"results_dir={tmp / 'results'}",
                f"hydra.sweep.dir={tmp / 'multirun'}",
                "progress=false",
            )
            assert run.returncode == 0, f"sweep {split} failed"
            rows = connect(tmp / "results").sql("SELECT sum(audio_s), max(threads), count(*) FROM runs").fetchall()
            audio_s, threads, cells = rows[0]
            assert cells == n_cells and threads == split[1], (cells, threads)
            throughput = audio_s / run.wall_s
            best[split] = max(best.get(split, 0.0), throughput)
            report.say(
                f"round {round_ + 1}: {split[0]} worker(s) × {split[1]} thread(s): {run.wall_s:.1f}s wall, "
                f"{audio_s:.0f}s of audio, {throughput:.2f} audio-s/s"
            )
    top = max(best.values())
    for split, value in best.items():
        report.figures[f"throughput_{split[0]}x{split[1]}"] = round(value, 3)
        report.say(f"best {split[0]}×{split[1]}: {value:.2f} audio-s/s ({value / top:.3f} of the best)")
    report.figures["chosen_split"] = list(chosen)
    ratio = best[chosen] / top
    report.ratio("chosen_over_best", f"chosen split {chosen[0]}×{chosen[1]} ÷ best", ratio, ">= 0.95", ratio >= 0.95)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
