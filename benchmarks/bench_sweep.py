"""Goal 2 (load once) and goal 3 (cache: re-running an unchanged sweep).

One Hydra sweep in one process (the basic launcher), as ``python -m modellab -m`` runs it:
2 models × 4 datasets × 2 preprocessings = 16 cells. Printed: how many times each model was
loaded and the share of the sweep's wall time spent loading; then the same sweep again, unchanged,
and its time ÷ the first run's. Last, decoded audio is shown reused across models and
preprocessings (decodes counted in-process over a 2 × 2 sweep with the dummy model).

    .venv/bin/python -m benchmarks.bench_sweep [--models faster_whisper,faster_whisper_base]
"""

from __future__ import annotations

import argparse

from benchmarks.common import Report, cli, scratch_dir

DATASETS = "librivox_golden_v1,cards_golden_v1,call_turns_golden_v1,synth_golden_v1"


def _decodes_across_cells() -> tuple[int, int, int]:
    """(cells, files, decodes) for 2 models × 2 preprocessings on one dataset, in one process."""
    import modellab.audio.decode as audio
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    audio.clear_audio_cache()
    calls = {"n": 0}
    real = audio._decode

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    audio._decode = counting
    results = str(scratch_dir("decode"))
    cells = 0
    try:
        for text in ("one model", "another model"):
            for prep in ("none", "normalize_loudness"):
                cfg = compose_config(
                    [
                        "+model=dummy_asr",
                        "task=asr",
                        "dataset=librivox_golden_v1",
                        f"preprocessing={prep}",
                        f"model.options.text='{text}'",
                        f"results_dir={results}",
                        "progress=false",
                    ]
                )
                summary = run_config(cfg)
                files = summary.n_samples
                cells += 1
    finally:
        audio._decode = real
    return cells, files, calls["n"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sweep", description=__doc__)
    parser.add_argument("--models", default="faster_whisper,faster_whisper_base")
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--preprocessing", default="none,normalize_loudness")
    args = parser.parse_args(argv)

    from modellab.results.views import connect

    report = Report("sweep")
    tmp = scratch_dir("sweep")
    results = tmp / "results"
    sweep = [
        "modellab",
        "-m",
        f"+model={args.models}",
        "task=asr",
        f"dataset={args.datasets}",
        f"preprocessing={args.preprocessing}",
        f"results_dir={results}",
        f"hydra.sweep.dir={tmp / 'multirun'}",
        "progress=false",
    ]
    n_cells = len(args.models.split(",")) * len(args.datasets.split(",")) * len(args.preprocessing.split(","))
    report.say(f"sweep: {' '.join(sweep[2:6])} ({n_cells} cells), one process")
    cli("modellab.datasets", "build", *args.datasets.split(","))

    first = cli(*sweep)
    assert first.returncode == 0, "the sweep failed"
    con = connect(results)
    rows = con.sql(
        "SELECT model, count(*), count(*) FILTER (WHERE load_s > 0), sum(load_s), sum(audio_s) FROM runs GROUP BY model"
    ).fetchall()
    total_load = sum(r[3] for r in rows)
    for model, cells, loads, load_s, audio_s in rows:
        report.say(f"  {model}: {cells} cells, loaded {loads} time(s), {load_s:.2f}s loading, {audio_s:.0f}s of audio")
    report.figures["loads_per_model"] = {r[0]: r[2] for r in rows}
    report.figures["first_run_s"] = round(first.wall_s, 2)
    report.say(f"first run: {first.wall_s:.1f}s wall (process start included), loading {total_load:.2f}s")
    once = all(r[2] == 1 for r in rows)
    report.ratio(
        "load_once", "models loaded once per (model, device, compute type)", 1.0 if once else 0.0, "== 1", once
    )
    share = total_load / first.wall_s
    report.ratio("load_share", "model loading ÷ sweep wall time", share, "<= 0.02", share <= 0.02)

    again = cli(*sweep)
    assert again.returncode == 0, "the re-run failed"
    reused = again.stdout.count("unchanged, reusing run")
    report.say(f"re-run: {again.wall_s:.2f}s wall, {reused}/{n_cells} cells reused, none recomputed")
    report.figures["rerun_s"] = round(again.wall_s, 2)
    rerun = again.wall_s / first.wall_s
    report.ratio("rerun", "unchanged re-run ÷ first run", rerun, "<= 0.02", rerun <= 0.02 and reused == n_cells)

    cells, files, decodes = _decodes_across_cells()
    report.say(f"audio cache: {cells} cells (2 models × 2 preprocessings) over {files} files decoded {decodes} times")
    report.figures["decode"] = {"cells": cells, "files": files, "decodes": decodes}
    report.ratio("decodes_per_file", "decodes per file over those cells", decodes / files, "== 1", decodes == files)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
