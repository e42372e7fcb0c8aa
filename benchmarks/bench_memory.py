"""Goal 7 (memory).

1. RSS growth over ≥ 100 files per model: one cell on ``bench_files_v1`` (113 files) per model;
   the runner samples RSS after every file and records ``rss_growth`` = RSS after the last file
   ÷ RSS after the first (both read with freed heap trimmed). A single run holds no decoded audio
   (``python -m modellab`` without ``-m``); inside a sweep the decoded-audio cache (bounded by
   ``MODELLAB_AUDIO_CACHE_MB``, 512) keeps the files for the next cells: measured too, for the
   first model, with the cache on.
2. Long audio: the 30-minute file of ``bench_long_30min_v1`` under each long-form strategy, which
   is a sweep parameter (model options), e.g.::

       python -m modellab -m +model=faster_whisper dataset=bench_long_30min_v1 \\
           task.options.long_form.window_s=null,120 model.options.batch_size=1,8 model.options.vad_filter=true

   Each strategy runs in its own process so its high-water RSS (``wait4``) is its own; the same
   strategy on the first minute of the audio shows how much of that is the length of the input.

    .venv/bin/python -m benchmarks.bench_memory [--models faster_whisper,faster_whisper_base]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import Report, cli, scratch_dir

STRATEGIES = {
    "sequential": ["model.options.batch_size=1", "model.options.vad_filter=false"],
    # faster-whisper's batched pipeline: Silero VAD cuts the audio into speech chunks of at most
    # chunk_length (30 s), decoded 8 at a time; it needs vad_filter=true.
    "vad_chunked": ["model.options.batch_size=8", "model.options.vad_filter=true"],
    "vad_chunked_15s": ["model.options.batch_size=8", "model.options.vad_filter=true", "model.options.chunk_length=15"],
    # modellab's own long-form windows (any ASR model): 120 s windows cut at the quietest point,
    # each transcribed sequentially by the model.
    "windows_120s": ["model.options.batch_size=1", "task.options.long_form.window_s=120"],
}


def _cell(tmp: Path, *overrides: str, env: dict[str, str] | None = None) -> tuple[dict, float, float]:
    """(metrics of the run, wall s, high-water RSS MB) of one cell in a fresh process."""
    from modellab.results.views import connect

    results = tmp / "results"
    run = cli("modellab", *overrides, "task=asr", f"results_dir={results}", "progress=false", "force=true", env=env)
    assert run.returncode == 0, f"cell {overrides} failed"
    con = connect(results)
    rel = con.sql("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1")
    row = dict(zip(rel.columns, rel.fetchall()[0], strict=True))
    if row["status"] == "failed":
        error = con.sql("SELECT error FROM samples WHERE run_id = ?", params=[row["run_id"]]).fetchall()
        raise SystemExit(f"cell {overrides} failed: {error}")
    return row, run.wall_s, run.max_rss_mb


def growth(report: Report, tmp: Path, models: list[str]) -> None:
    worst = 0.0
    figures: dict[str, dict[str, float]] = {}
    runs = [(m, None) for m in models] + [(models[0], "512")]
    for model, cache_mb in runs:
        env = {"MODELLAB_AUDIO_CACHE_MB": cache_mb} if cache_mb else None
        run, wall, high = _cell(tmp, f"+model={model}", "dataset=bench_files_v1", env=env)
        label = f"audio cache {cache_mb} MB as in a sweep" if cache_mb else "single run"
        figures.setdefault(model, {})["sweep_audio_cache_512mb" if cache_mb else "single_run"] = round(
            run["rss_growth"], 4
        )
        if not cache_mb:
            worst = max(worst, run["rss_growth"])
        report.say(
            f"{model} on bench_files_v1, {label}: {run['n_samples']} files, RSS after last ÷ "
            f"after first {run['rss_growth']:.4f}, peak sampled {run['peak_rss_mb']:.0f} MB, high-water {high:.0f} MB, "
            f"{wall:.0f}s"
        )
    report.figures["rss_growth"] = figures
    report.ratio("rss_growth", "RSS growth over 113 files, single run (worst model)", worst, "<= 1.10", worst <= 1.10)


def long_form(report: Report, tmp: Path, model: str, strategies: list[str]) -> None:
    long_runs = {}
    for name in strategies:
        overrides = STRATEGIES[name]
        run, wall, high = _cell(tmp, f"+model={model}", "dataset=bench_long_30min_v1", *overrides)
        short, short_wall, short_high = _cell(
            tmp, f"+model={model}", "dataset=bench_concat_5min_v1", "+dataset.limit=1", *overrides
        )
        long_runs[name] = {
            "overrides": overrides,
            "audio_s": run["audio_s"],
            "wall_s": round(wall, 1),
            "rtfx": run["rtfx"],
            "wer": run.get("wer"),
            "high_water_rss_mb": round(high, 1),
            "one_minute_high_water_rss_mb": round(short_high, 1),
        }
        report.say(
            f"30-min file, {name} ({' '.join(overrides)}): {run['audio_s'] / 60:.1f} min of audio in {wall:.0f}s, "
            f"RTFx {run['rtfx']:.1f}, WER {100 * (run.get('wer') or 0):.1f}%, high-water RSS {high:.0f} MB "
            f"(1-min file: {short_high:.0f} MB)"
        )
    report.figures["long_form"] = long_runs
    audio_mb = 1800 * 16000 * 4 / 2**20
    report.say(f"(the decoded 30-min input alone is {audio_mb:.0f} MB of float32 samples)")
    bounded = max(r["high_water_rss_mb"] - r["one_minute_high_water_rss_mb"] for r in long_runs.values())
    report.figures["long_minus_short_rss_mb"] = round(bounded, 1)
    report.say(f"largest extra high-water RSS of 30 min over 1 min: {bounded:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory", description=__doc__)
    parser.add_argument("--models", default="faster_whisper,faster_whisper_base")
    parser.add_argument("--long-model", default="faster_whisper")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--part", choices=["growth", "long", "all"], default="all")
    args = parser.parse_args(argv)

    report = Report("memory" if args.part == "all" else f"memory_{args.part}")
    tmp = scratch_dir("memory")
    cli("modellab.datasets", "build", "bench_files_v1", "bench_long_30min_v1")

    if args.part in ("growth", "all"):
        growth(report, tmp, args.models.split(","))
    if args.part in ("long", "all"):
        long_form(report, tmp, args.long_model, args.strategies.split(","))
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
