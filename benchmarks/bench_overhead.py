"""Goal 1 (overhead) and goal 8 (warm-up, timing scope).

Framework time for one ASR cell (compose the config, build the cell, look up the cache key,
decode, run, journal, score, write Parquet; the model already loaded and warm) ÷ a plain
faster-whisper loop over the same files (the same loaded CTranslate2 model, so the same weights,
threads and compute type; the same beam and decoding options; the loop lets faster-whisper decode
the files itself), on the 5.5 minutes of
``bench_concat_5min_v1``. The two alternate, so load on a shared machine hits both alike, and
the ratio is taken of the fastest repeat of each (other processes only ever add time); the
same ratio in CPU time (all threads of this process) is printed beside it.

    .venv/bin/python -m benchmarks.bench_overhead [--repeats 3] [--model faster_whisper]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from benchmarks.common import Report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_overhead", description=__doc__)
    parser.add_argument("--model", default="faster_whisper")
    parser.add_argument("--dataset", default="bench_concat_5min_v1")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from modellab.app import build_cell, run_config
    from modellab.audio import clear_audio_cache
    from modellab.registry import compose_config
    from modellab.runner import loaded_models

    report = Report("overhead")
    results_dir = tempfile.mkdtemp(prefix="modellab-bench-overhead-")
    overrides = [f"+model={args.model}", "task=asr", f"results_dir={results_dir}", "progress=false", "force=true"]

    def compose(dataset: str):
        return compose_config([*overrides, f"dataset={dataset}"])

    cell = build_cell(compose(args.dataset))
    samples = cell.dataset.samples()
    audio_s = sum(s.duration_s or 0.0 for s in samples)
    o = cell.model.options
    report.say(
        f"{args.model} ({cell.model.weights.revision}), {cell.device.compute_type}, {cell.device.threads} threads, "
        f"beam {o.beam_size}; {args.dataset}: {len(samples)} files, {audio_s / 60:.1f} min of audio"
    )

    kwargs = {
        "language": o.language,
        "beam_size": o.beam_size,
        "temperature": o.temperature,
        "condition_on_previous_text": o.condition_on_previous_text,
        "vad_filter": o.vad_filter,
        "word_timestamps": o.word_timestamps,
    }

    def plain_loop() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for sample in samples:
            segments, _ = plain.transcribe(sample.audio_path, **kwargs)
            "".join(s.text for s in segments)
        return time.perf_counter() - start, time.process_time() - cpu

    def framework() -> tuple[float, float, dict]:
        clear_audio_cache()  # decode again, as the plain loop does
        start, cpu = time.perf_counter(), time.process_time()
        summary = run_config(compose(args.dataset))
        return time.perf_counter() - start, time.process_time() - cpu, summary.metrics

    # A first (untimed) lab cell loads the model and warms it once for the process; the plain loop
    # then drives that same CTranslate2 model directly (same instance, weights, threads, compute type).
    warm = run_config(compose("cards_golden_v1"))
    report.say(f"warm-up: lab cell on cards_golden_v1 loaded the model in {warm.metrics.get('load_s', 0):.2f}s")
    (adapter,) = [m for m in loaded_models().values() if m.name == args.model]
    plain = adapter.model
    plain.transcribe(samples[0].audio_path, **kwargs)

    plain_s, frame_s, plain_cpu, frame_cpu, compute_s = [], [], [], [], []
    for i in range(args.repeats):
        order = ("plain", "framework") if i % 2 == 0 else ("framework", "plain")
        for which in order:
            if which == "plain":
                wall, cpu = plain_loop()
                plain_s.append(wall)
                plain_cpu.append(cpu)
            else:
                wall, cpu, metrics = framework()
                frame_s.append(wall)
                frame_cpu.append(cpu)
                compute_s.append(metrics["compute_s"])
                assert metrics.get("load_s", 0.0) == 0.0, "the model was loaded again"
        report.say(
            f"repeat {i + 1}: plain loop {plain_s[-1]:.2f}s ({plain_cpu[-1]:.1f} CPU-s), framework cell "
            f"{frame_s[-1]:.2f}s ({frame_cpu[-1]:.1f} CPU-s; model calls {compute_s[-1]:.2f}s)"
        )
    overhead = min(frame_s) / min(plain_s)
    overhead_cpu = min(frame_cpu) / min(plain_cpu)
    report.figures.update(
        plain_s=plain_s,
        framework_s=frame_s,
        plain_cpu_s=plain_cpu,
        framework_cpu_s=frame_cpu,
        model_call_s=compute_s,
        audio_s=audio_s,
        rtfx_plain=audio_s / min(plain_s),
        rtfx_framework_model_call=audio_s / min(compute_s),
        rtfx_framework_end_to_end=audio_s / min(frame_s),
        overhead_cpu_time=round(overhead_cpu, 4),
        overhead_median_of_pairs=round(statistics.median(f / p for f, p in zip(frame_s, plain_s)), 4),
    )
    report.say(
        f"RTFx (fastest repeat): plain loop {audio_s / min(plain_s):.1f}, lab model-call scope "
        f"{audio_s / min(compute_s):.1f}, lab end to end {audio_s / min(frame_s):.1f}"
    )
    report.ratio(
        "overhead", "overhead, wall (framework ÷ plain loop, fastest of each)", overhead, "<= 1.03", overhead <= 1.03
    )
    report.say(f"overhead, CPU time (framework ÷ plain loop, least of each): {overhead_cpu:.4f}")
    scope = min(frame_s) / min(compute_s)
    report.say(
        f"timing scope: runs record timing_scope=model_call; end-to-end cell ÷ model calls = {scope:.4f} "
        "(decode, scoring, Parquet and config outside the model call)"
    )
    report.figures["end_to_end_over_model_call"] = round(scope, 4)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
