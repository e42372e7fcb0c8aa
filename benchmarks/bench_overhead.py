"""Goal 1 (overhead) and goal 8 (warm-up, timing scope).

Framework time for one ASR cell (compose the config, build the cell, look up the cache key,
decode, run, journal, score, write Parquet; the model already loaded and warm) ÷ a plain
faster-whisper loop over the same files, on the 5.5 minutes of ``bench_concat_5min_v1``. The plain
loop drives the very CTranslate2 model the lab loaded (same weights, threads, compute type) with
the same beam and decoding options, and lets faster-whisper decode the files itself.

On a machine shared with other jobs, speed drifts by several per cent over the half minute a
cell takes, more than the overhead being measured. So the ratio is taken as the product of two
drift-free factors:

- A: framework cell wall time ÷ the model-call time inside that same cell (same run, same drift);
- B: the lab's model call (``task.predict``, as the runner calls it) ÷ the plain loop's call,
  interleaved file by file on the same model, over ``--repeats`` rounds in alternating order.

A × B = framework cell ÷ plain loop. The direct ratio of whole runs (fastest of each) is printed
beside it.

    .venv/bin/python -m benchmarks.bench_overhead [--repeats 2] [--model faster_whisper]
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.common import Report, scratch_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_overhead", description=__doc__)
    parser.add_argument("--model", default="faster_whisper")
    parser.add_argument("--dataset", default="bench_concat_5min_v1")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from modellab.app import build_cell, run_config
    from modellab.audio import clear_audio_cache, load_audio
    from modellab.config.registry import compose_config
    from modellab.run.runner import loaded_models

    report = Report("overhead")
    results_dir = str(scratch_dir("overhead"))
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

    # A first (untimed) lab cell loads the model and warms it once for the process.
    warm = run_config(compose("cards_golden_v1"))
    report.say(f"warm-up: lab cell on cards_golden_v1 loaded the model in {warm.metrics.get('load_s', 0):.2f}s")
    (adapter,) = [m for m in loaded_models().values() if m.name == args.model]
    plain = adapter.model  # the CTranslate2 WhisperModel itself

    def plain_call(path: str) -> float:
        start = time.perf_counter()
        segments, _ = plain.transcribe(path, **kwargs)
        "".join(s.text for s in segments)
        return time.perf_counter() - start

    def lab_call(path: str) -> float:
        audio = load_audio(path, use_cache=False)
        start = time.perf_counter()
        cell.task.predict(adapter, audio, None)
        return time.perf_counter() - start

    # A: whole framework cells.
    frame_s, compute_s = [], []
    for i in range(args.repeats):
        clear_audio_cache()  # decode again, as the plain loop does
        start = time.perf_counter()
        metrics = run_config(compose(args.dataset)).metrics
        frame_s.append(time.perf_counter() - start)
        compute_s.append(metrics["compute_s"])
        assert metrics.get("load_s", 0.0) == 0.0, "the model was loaded again"
        report.say(f"cell {i + 1}: {frame_s[-1]:.2f}s wall, model calls {compute_s[-1]:.2f}s")
    factor_a = statistics.median(f / c for f, c in zip(frame_s, compute_s, strict=True))

    # B: the lab's model call vs the plain call, file by file.
    lab_s, plain_s = 0.0, 0.0
    for i in range(args.repeats):
        for sample in samples:
            if i % 2 == 0:
                plain_s += plain_call(sample.audio_path)
                lab_s += lab_call(sample.audio_path)
            else:
                lab_s += lab_call(sample.audio_path)
                plain_s += plain_call(sample.audio_path)
        report.say(
            f"interleaved round {i + 1}: plain loop calls {plain_s:.2f}s, lab model calls {lab_s:.2f}s (cumulative)"
        )
    factor_b = lab_s / plain_s
    overhead = factor_a * factor_b
    direct = min(frame_s) / (plain_s / args.repeats)

    report.figures.update(
        framework_s=frame_s,
        model_call_s=compute_s,
        interleaved_plain_s=round(plain_s, 3),
        interleaved_lab_s=round(lab_s, 3),
        factor_a_cell_over_model_calls=round(factor_a, 4),
        factor_b_lab_call_over_plain_call=round(factor_b, 4),
        direct_ratio_fastest_cell_over_mean_plain=round(direct, 4),
        audio_s=audio_s,
        rtfx_plain=audio_s * args.repeats / plain_s,
        rtfx_framework_model_call=audio_s / min(compute_s),
        rtfx_framework_end_to_end=audio_s / min(frame_s),
    )
    report.say(
        f"A = framework cell ÷ its model calls = {factor_a:.4f} (timing scope: runs record "
        "timing_scope=model_call; decode, scoring, Parquet and config are the rest)"
    )
    report.say(f"B = lab model call ÷ plain faster-whisper call, interleaved = {factor_b:.4f}")
    report.say(
        f"RTFx: plain loop {audio_s * args.repeats / plain_s:.1f}, lab model-call scope "
        f"{audio_s / min(compute_s):.1f}, lab end to end {audio_s / min(frame_s):.1f}"
    )
    report.say(f"direct ratio of whole runs (fastest cell ÷ mean plain loop, drift included): {direct:.4f}")
    report.ratio("overhead", "overhead A × B (framework cell ÷ plain loop)", overhead, "<= 1.03", overhead <= 1.03)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
