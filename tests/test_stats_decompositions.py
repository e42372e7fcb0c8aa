"""``modellab.metrics.stats`` piece by piece, on hand-counted rows: every decomposition's per-sample
components, the bootstrap's percentiles and replicate count, the intervals stored with a run, and the
intervals read back from a results connection. Fast (no model runs); the mutation run of
``stats.py`` uses this file (scripts/mutation.sh)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.metrics import stats
from modellab.metrics.stats import (
    Decomposition,
    Intervals,
    bootstrap_ci,
    bootstrap_interval,
    decompose,
    metric_intervals,
    paired_bootstrap,
    run_samples,
    with_intervals,
)
from modellab.tasks.base import SampleRecord
from modellab.types import Sample

# --- ASR rows as the task scores them ---------------------------------------------------------

ASR_PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),  # 6 words, 0 errors   | 22 chars, 0
    ("hello world", "hello"),  # 2 words, 1 D                                     | 11 chars, 6
    ("good morning", "good evening all"),  # 2 words, 1 S + 1 I                   | 12 chars, 7
    ("Hello, world.", "hello world"),  # none: 2 S of 2 words; basic, whisper_en: 0 | 11 chars, 0
]


def _asr_rows() -> tuple[list[dict], dict[str, float]]:
    task = load_component("task", "asr")
    records = [
        SampleRecord(Sample(f"s{i}", text=r), output={"text": h}, audio_s=2.0, level_dbfs=-20.0)
        for i, (r, h) in enumerate(ASR_PAIRS)
    ]
    records.append(SampleRecord(Sample("s4", text="alpha beta"), error="boom", audio_s=2.0))  # a failed sample
    scores = task.score(records, "golden")
    rows = [
        {"sample_id": rec.sample.sample_id, "error": rec.error, **row}
        for rec, row in zip(records, scores.samples, strict=True)
    ]
    return rows, {m.name: m.value for m in scores.metrics}


def test_every_asr_metric_decomposes_into_hand_counted_components() -> None:
    rows, metrics = _asr_rows()
    run = {"normalizer": "whisper_en"}
    expected = {
        # (errors, reference words) per sample; the failed sample s4 contributes nothing
        "wer": [(0, 6), (1, 2), (2, 2), (0, 2), (0, 0)],
        "substitution_rate": [(0, 6), (0, 2), (1, 2), (0, 2), (0, 0)],
        "deletion_rate": [(0, 6), (1, 2), (0, 2), (0, 2), (0, 0)],
        "insertion_rate": [(0, 6), (0, 2), (1, 2), (0, 2), (0, 0)],
        "wer_none": [(0, 6), (1, 2), (2, 2), (2, 2), (0, 0)],
        "wer_basic": [(0, 6), (1, 2), (2, 2), (0, 2), (0, 0)],
        "cer": [(0, 22), (6, 11), (7, 12), (0, 11), (0, 0)],  # characters of the whisper_en-normalised text
    }
    values = {"wer": 3 / 12, "substitution_rate": 1 / 12, "deletion_rate": 1 / 12, "insertion_rate": 1 / 12}
    values |= {"wer_none": 5 / 12, "wer_basic": 3 / 12, "cer": 13 / 56}
    for name, components in expected.items():
        assert metrics[name] == pytest.approx(values[name]), name
        dec = decompose(name, rows, run, stored=metrics[name])
        assert dec is not None, name
        assert dec.components.tolist() == [list(map(float, c)) for c in components], name
    assert decompose("wer", rows, run).method == "pooled errors / reference words"
    assert decompose("wer_none", rows, run).method == "pooled errors / reference words (none normaliser)"
    assert decompose("cer", rows, run).method == "pooled character errors / reference characters"
    spread = decompose("wer_normalizer_spread", rows, run, stored=metrics["wer_normalizer_spread"])
    assert metrics["wer_normalizer_spread"] == pytest.approx(5 / 12 - 3 / 12)
    assert spread.value() == pytest.approx(1 / 6)
    assert spread.components.shape == (5, 6)  # (errors, words) for none, basic, whisper_en
    assert spread.method == "max - min pooled WER over none, basic, whisper_en"
    # without what a pooled decomposition needs, none is given (a plain mean does not reproduce the pool)
    assert decompose("cer", rows, {}, stored=13 / 56) is None  # no normaliser on the run row: lengths unknown
    assert decompose("wer_klingon", rows, run, stored=5 / 12) is None  # not a normaliser
    no_column = [{k: v for k, v in r.items() if k != "wer_none"} for r in rows]
    assert decompose("wer_none", no_column, run, stored=5 / 12) is None


def _wer_row(sample_id: str, errors: int, words: int, **extra) -> dict:
    row = {"sample_id": sample_id, "reference": "x", "hypothesis": "y", "error": None}
    row |= {"substitutions": errors, "deletions": 0, "insertions": 0, "ref_words": words, "wer": errors / words}
    return {**row, **extra}


def test_a_failed_row_never_counts_even_when_it_carries_counts() -> None:
    rows = [
        _wer_row("a", 1, 4),
        _wer_row("b", 3, 3, error="boom"),  # failed: excluded whatever its counts say
        _wer_row("c", 1, 4, error=""),  # an empty error string is no error
        {k: v for k, v in _wer_row("d", 2, 2).items() if k != "hypothesis"},  # a row without a hypothesis column
        _wer_row("e", 1, 1, hypothesis=None),  # no output: excluded
    ]
    dec = decompose("wer", rows, {})
    assert dec.components.tolist() == [[1, 4], [0, 0], [1, 4], [2, 2], [0, 0]]
    no_words = [{k: v for k, v in r.items() if k != "ref_words"} for r in rows]
    assert decompose("wer", no_words, {}, stored=4 / 10) is None  # no reference lengths: no pooled WER
    assert decompose("wer", [{"sample_id": "a", "wer": 0.5}], {}).method == "mean over samples"  # not ASR rows


def test_the_other_decompositions_on_hand_counted_rows() -> None:
    timed = [
        {"sample_id": "a", "duration_s": 4.0, "compute_s": 1.0, "error": None, "gates_passed": True},
        {"sample_id": "b", "duration_s": 2.0, "compute_s": 1.0, "error": "", "gates_passed": False},
        {"sample_id": "c", "duration_s": 9.0, "compute_s": None, "error": None, "gates_passed": None},
        {"sample_id": "d", "duration_s": None, "compute_s": 9.0, "error": None, "gates_passed": True},
    ]
    rtfx = decompose("rtfx", timed, {})
    assert rtfx.components.tolist() == [[4, 1], [2, 1], [0, 0], [0, 0]] and rtfx.method == "Σ audio s / Σ compute s"
    rtf = decompose("rtf", timed, {})
    assert rtf.components.tolist() == [[1, 4], [1, 2], [0, 0], [0, 0]] and rtf.method == "Σ compute s / Σ audio s"
    gates = decompose("gate_pass_rate", timed, {})
    assert gates.components.tolist() == [[1, 1], [0, 1], [0, 0], [1, 1]]
    assert gates.method == "share of samples passing all gates" and gates.value() == pytest.approx(2 / 3)
    diar = [
        {"sample_id": "a", "der": 0.5, "scored_speech_s": 2.0},
        {"sample_id": "b", "der": None, "scored_speech_s": 8.0},  # no DER (no reference speech)
        {"sample_id": "c", "der": 0.25, "scored_speech_s": 0.0},
        {"sample_id": "d", "der": 0.1, "scored_speech_s": 10.0},
    ]
    der = decompose("der", diar, {})
    assert der.components.tolist() == [[1, 2], [0, 0], [0, 0], [1, 10]]
    assert der.method == "pooled error time / scored speech time" and der.value() == pytest.approx(2 / 12)
    unpooled = decompose("der", [{"sample_id": "a", "der": 0.5}, {"sample_id": "b", "der": 0.1}], {})
    assert unpooled.method == "mean over samples"  # no scored time: no pooling over it
    for name in ("wer", "cer", "rtfx", "gate_pass_rate", "der", "bleu", "wer_normalizer_spread", "f1"):
        assert decompose(name, [], {}) is None, name
    single = [{"sample_id": "a", "compute_s": 1.0, "duration_s": 2.0, "gates_passed": True}]
    assert decompose("rtfx", single, {}).value() == 2.0 and decompose("gate_pass_rate", single, {}).value() == 1.0
    assert decompose("der", [{"sample_id": "a", "der": 0.5, "scored_speech_s": 2.0}], {}).value() == 0.5


def test_a_plain_or_duration_weighted_mean_only_for_values_that_exist() -> None:
    rows = [
        {"sample_id": "a", "f1": 0.5, "duration_s": 1.0},
        {"sample_id": "b", "f1": None, "duration_s": 5.0},  # missing value: neither counted nor weighted
        {"sample_id": "c", "f1": "n/a", "duration_s": 5.0},  # a string is not a value
        {"sample_id": "d", "f1": 1.0, "duration_s": 3.0},
    ]
    plain = decompose("f1", rows, {}, stored=0.75)
    assert plain.method == "mean over samples"
    assert plain.components.tolist() == [[0.5, 1], [0, 0], [0, 0], [1, 1]]
    weighted = decompose("f1", rows, {}, stored=3.5 / 4)
    assert weighted.method == "duration-weighted mean over samples"
    assert weighted.components.tolist() == [[0.5, 1], [0, 0], [0, 0], [3, 3]]
    no_duration = [{"sample_id": "a", "f1": 0.5, "duration_s": None}, {"sample_id": "b", "f1": 1.0}]
    assert decompose("f1", no_duration, {}, stored=0.75).method == "mean over samples"
    assert decompose("f1", no_duration, {}, stored=0.9) is None  # no weighted mean without durations
    only_missing_duration = [{"sample_id": "a", "f1": None, "duration_s": None}, {"sample_id": "b", "f1": 1.0}]
    only_missing_duration[1]["duration_s"] = 2.0
    assert decompose("f1", only_missing_duration, {}, stored=1.0).method == "mean over samples"
    assert decompose("f1", [{"sample_id": "a", "f1": 0.5}, {"sample_id": "b"}], {}, stored=0.5) is not None


def test_stored_values_match_within_a_relative_millionth_or_an_absolute_billionth() -> None:
    rows = [{"sample_id": "a", "compute_s": 1.0, "duration_s": 40_000.0, "error": None}]
    assert decompose("rtfx", rows, {}, stored=40_000.0 * (1 + 5e-7)) is not None  # float32 storage noise
    assert decompose("rtfx", rows, {}, stored=40_000.0 * (1 + 5e-6)) is None
    tiny = [{"sample_id": str(i), "x": v} for i, v in enumerate([0.1, 0.2, -0.3])]  # mean ≈ 1.9e-17, not 0.0
    assert decompose("x", tiny, {}, stored=0.0) is not None


def test_later_registrations_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "_REGISTRY", list(stats._REGISTRY))
    mine = Decomposition(np.array([[1.0, 1.0]]), lambda s: s[:, 0] / s[:, 1], "mine")
    stats.register_decomposition(r"^wer$", lambda metric, rows, run: mine)
    assert decompose("wer", [_wer_row("a", 1, 4)], {}).method == "mine"
    assert decompose("wer_none", [_wer_row("a", 1, 4)], {}) is None  # the pattern is anchored: wer only


# --- translation options come from the run's signature ---------------------------------------


@pytest.mark.parametrize(
    ("tokenize", "lowercase", "word_order"), [("13a", False, 0), ("13a", True, 0), ("char", False, 2)]
)
def test_translation_decomposition_reads_its_options_from_the_signature(
    tokenize: str, lowercase: bool, word_order: int
) -> None:
    from modellab.metrics.translation import TranslationScorer

    hyps = ["The Cat sat on the mat", "A dog barked", "hello world"]
    refs = ["the cat sat on a mat", "the dog barked loudly", "Hello world"]
    scorer = TranslationScorer(tokenize, lowercase, word_order)
    corpus = scorer.corpus(hyps, refs)
    run = scorer.signatures()
    rows = [
        {"sample_id": str(i), "hypothesis": h, "reference": r, "error": None}
        for i, (h, r) in enumerate(zip(hyps, refs, strict=True))
    ]
    for metric in ("bleu", "chrf"):
        dec = decompose(metric, rows, run, stored=corpus[metric])
        assert dec is not None and dec.value() == pytest.approx(corpus[metric]), metric
        assert dec.method == f"corpus {metric} from summed sentence statistics"
    assert decompose("bleu", rows, {}) is None  # no signature on the run: options unknown


# --- the bootstrap itself --------------------------------------------------------------------


def _coin() -> Decomposition:
    """Two samples, one right and one wrong: the resampled share is 0, 1/2 or 1 with probability 1/4, 1/2, 1/4."""
    return Decomposition(np.array([[1.0, 1.0], [0.0, 1.0]]), lambda s: s[:, 0] / s[:, 1], "share")


def test_percentile_interval_on_a_known_distribution() -> None:
    # level 0.95: 2.5 % and 97.5 % quantiles of {0: 1/4, 1/2: 1/2, 1: 1/4} are 0 and 1
    wide = bootstrap_interval(_coin(), resamples=4000, seed=0, level=0.95, metric="share")
    assert (wide.low, wide.high, wide.value) == (0.0, 1.0, 0.5)
    # level 0.4: 30 % and 70 % quantiles both fall on 1/2
    narrow = bootstrap_interval(_coin(), resamples=4000, seed=0, level=0.4)
    assert (narrow.low, narrow.high) == (0.5, 0.5)
    assert (wide.metric, wide.level, wide.resamples, wide.n_samples, wide.method) == ("share", 0.95, 4000, 2, "share")
    assert wide.as_dict()["high"] == 1.0


def test_defaults_are_1000_resamples_seed_0() -> None:
    default = bootstrap_interval(_coin())
    explicit = bootstrap_interval(_coin(), resamples=1000, seed=0)
    assert (default.low, default.high, default.resamples, default.metric) == (explicit.low, explicit.high, 1000, "")
    diff = paired_bootstrap(_coin(), _coin())
    assert (diff.resamples, diff.metric, diff.level) == (1000, "", 0.95)


def test_one_replicate_and_no_finite_replicate() -> None:
    one = bootstrap_interval(_coin(), resamples=1, seed=0)
    assert one.low == one.high and one.low in (0.0, 0.5, 1.0)
    empty = Decomposition(np.zeros((3, 2)), lambda s: s[:, 0] / s[:, 1], "ratio")
    with np.errstate(invalid="ignore", divide="ignore"):
        nan = bootstrap_interval(empty, resamples=20)
        diff = paired_bootstrap(empty, empty, resamples=20)
    assert math.isnan(nan.low) and math.isnan(nan.high)
    assert math.isnan(diff.p_value) and math.isnan(diff.low)


def test_replicates_come_in_chunks_but_as_many_as_asked() -> None:
    dec = _coin()
    for resamples in (1, 511, 700, 1100):
        (reps,) = stats._replicates([dec], 2, resamples, seed=0)
        assert reps.size == resamples
    wide = Decomposition(np.ones((10_000, 2)), lambda s: s[:, 0] / s[:, 1], "ones")  # 400 replicates per block
    (reps,) = stats._replicates([wide], 10_000, 450, seed=0)
    assert reps.size == 450 and np.all(reps == 1.0)


def test_paired_bootstrap_refuses_unaligned_runs_and_reports_its_inputs() -> None:
    three = Decomposition(np.ones((3, 2)), lambda s: s[:, 0] / s[:, 1], "three")
    with pytest.raises(ValueError, match="same samples in both runs"):
        paired_bootstrap(_coin(), three)
    diff = paired_bootstrap(_coin(), _coin(), resamples=50, seed=1, level=0.9, metric="share")
    assert (diff.metric, diff.level, diff.resamples, diff.n_paired, diff.method) == ("share", 0.9, 50, 2, "share")
    assert diff.as_dict()["significant"] is False


# --- intervals stored with a run, and read back --------------------------------------------------


def test_metric_intervals_sort_rows_by_sample_id_and_skip_what_does_not_decompose() -> None:
    rows = [_wer_row("c", 0, 5), _wer_row("a", 4, 4), _wer_row("b", 1, 3)]
    ordered = sorted(rows, key=lambda r: r["sample_id"])
    found = metric_intervals(
        {"wer": 5 / 12, "load_s": 3.0, "rtfx": None, "cer": float("nan"), "substitution_rate": 0.1},
        rows,
        {},
        resamples=300,
        seed=4,
        level=0.8,
    )
    assert set(found) == {"wer"}  # load_s: no columns; rtfx None; cer NaN; substitution_rate: 0.1 not reproduced
    expected = bootstrap_interval(decompose("wer", ordered, {}), resamples=300, seed=4, level=0.8)
    assert (found["wer"].low, found["wer"].high) == (expected.low, expected.high)
    assert (found["wer"].value, found["wer"].n_samples, found["wer"].level) == (pytest.approx(5 / 12), 3, 0.8)
    assert metric_intervals({"wer": 5 / 12}, rows, {}, resamples=0) == {}
    assert metric_intervals({"wer": 5 / 12}, [], {}) == {}


def test_with_intervals_fills_ci_columns_and_the_run_row() -> None:
    rows = [_wer_row("a", 1, 4)]  # one sample: the interval is the point
    metric_rows = [{"name": "wer", "value": 0.25}, {"name": "load_s", "value": 2.0}]
    run_row: dict = {}
    out = with_intervals(metric_rows, rows, run_row, Intervals(200, 0.9), seed=0)
    assert [(m["name"], m["value"], m["ci_low"], m["ci_high"]) for m in out] == [
        ("wer", 0.25, 0.25, 0.25),
        ("load_s", 2.0, None, None),
    ]
    assert (run_row["ci_level"], run_row["ci_resamples"]) == (0.9, 200)


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE samples (run_id TEXT, sample_id TEXT, reference TEXT, hypothesis TEXT, error TEXT, "
        "substitutions INT, deletions INT, insertions INT, ref_words INT, wer DOUBLE)"
    )
    for row in (_wer_row("b", 1, 3), _wer_row("a", 0, 1), _wer_row("z", 9, 9)):
        run_id = "other" if row["sample_id"] == "z" else "r"
        con.execute(
            "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, *(row[k] for k in ("sample_id", "reference", "hypothesis", "error")), row["substitutions"], 0, 0]
            + [row["ref_words"], row["wer"]],
        )
    con.execute("CREATE TABLE metrics (run_id TEXT, name TEXT, value DOUBLE, higher_is_better BOOLEAN)")
    con.execute("INSERT INTO metrics VALUES ('r', 'wer', 0.25, false), ('r', 'load_s', 1.0, false)")
    con.execute("INSERT INTO metrics VALUES ('r', 'cer', NULL, false)")
    con.execute("CREATE TABLE runs_raw (run_id TEXT, normalizer TEXT)")
    con.execute("INSERT INTO runs_raw VALUES ('r', 'basic')")
    return con


def test_bootstrap_ci_and_run_samples_read_a_results_connection() -> None:
    con = _connection()
    assert [r["sample_id"] for r in run_samples(con, "r")] == ["a", "b"]  # this run only, by sample id
    ci = bootstrap_ci(con, "r", "wer", resamples=400, seed=0, level=0.9)
    # rows a (0/1) and b (1/3): draws {a,a} 0, {a,b} 1/4, {b,b} 1/3 with probability 1/4, 1/2, 1/4
    assert ci is not None and ci.value == pytest.approx(0.25) and ci.metric == "wer" and ci.n_samples == 2
    assert (ci.low, ci.high) == pytest.approx((0.0, 1 / 3)) and (ci.level, ci.resamples) == (0.9, 400)
    assert bootstrap_ci(con, "r", "load_s") is None  # run-level only
    assert bootstrap_ci(con, "r", "cer") is None  # no stored value
    assert bootstrap_ci(con, "r", "nope") is None
    assert bootstrap_ci(con, "missing", "wer") is None


# --- killing the mutants scripts/mutation.sh found alive -----------------------------------------

_SPREAD = [(0, 4), (3, 3), (1, 5), (4, 4), (0, 6), (2, 2), (5, 9), (1, 1)]  # (errors, words): a wide spread


def _spread_rows() -> list[dict]:
    return [_wer_row(f"s{i}", e, n) for i, (e, n) in enumerate(_SPREAD)]


def test_weighted_value_sums_the_weighted_components() -> None:
    dec = decompose("wer", _spread_rows(), {})
    weights = np.array([2.0, 0, 0, 0, 0, 0, 0, 1.0])  # s0 twice and s7 once: (0 + 0 + 1) / (4 + 4 + 1)
    assert dec.value(weights) == pytest.approx(1 / 9)
    assert dec.value() == pytest.approx(16 / 34)


def test_the_latest_registration_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "_REGISTRY", list(stats._REGISTRY))
    mine = Decomposition(np.array([[1.0, 2.0]]), lambda s: s[:, 0] / s[:, 1], "mine")
    # gate_pass_rate is the last built-in registration: it sits first; a new one must go before it
    stats.register_decomposition(r"^gate_pass_rate$", lambda metric, rows, run: mine)
    assert decompose("gate_pass_rate", [{"sample_id": "a", "gates_passed": True}], {}).method == "mine"


def test_nan_per_sample_values_are_left_out_of_a_mean() -> None:
    rows = [{"sample_id": "a", "x": 0.5}, {"sample_id": "b", "x": float("nan")}, {"sample_id": "c", "x": 1.0}]
    assert decompose("x", rows, {}, stored=0.75).components.tolist() == [[0.5, 1], [0, 0], [1, 1]]


def test_a_duration_weighted_mean_ignores_durations_of_samples_without_a_value() -> None:
    rows = [
        {"sample_id": "a", "x": None, "duration_s": None},
        {"sample_id": "b", "x": 1.0, "duration_s": 2.0},
        {"sample_id": "c", "x": 0.0, "duration_s": 6.0},
    ]
    assert decompose("x", rows, {}, stored=0.25).method == "duration-weighted mean over samples"  # 2 / 8


def test_a_failed_row_first_does_not_stop_the_speed_sum() -> None:
    rows = [
        {"sample_id": "a", "duration_s": 9.0, "compute_s": 9.0, "error": "boom"},
        {"sample_id": "b", "duration_s": 4.0, "compute_s": 1.0, "error": None},
    ]
    assert decompose("rtfx", rows, {}).components.tolist() == [[0, 0], [4, 1]]


def test_single_row_inputs_and_unknown_normaliser_columns() -> None:
    rows, _ = _asr_rows()
    first = [rows[1]]  # "hello world" -> "hello": 1 of 2 words, 6 of 11 characters
    assert decompose("cer", first, {"normalizer": "whisper_en"}).value() == pytest.approx(6 / 11)
    assert decompose("wer_normalizer_spread", first, {}).value() == pytest.approx(0.0)
    klingon = [{**r, "wer_klingon": 0.5} for r in rows]  # a column named like a normaliser that does not exist
    assert decompose("wer_klingon", klingon, {}, stored=0.123) is None


def test_spread_over_normalisers_with_different_word_counts() -> None:
    task = load_component("task", "asr")
    pairs = [("twenty one dogs", "twenty one dogs"), ("Hello, world.", "hello world")]
    # none: 3 + 2 words, 0 + 2 errors = 2/5; basic: 5 words, 0 errors; whisper_en: "21 dogs" 2 + 2 words, 0 errors
    records = [SampleRecord(Sample(f"s{i}", text=r), output={"text": h}, audio_s=2.0) for i, (r, h) in enumerate(pairs)]
    scores = task.score(records, "golden")
    rows = [{"sample_id": f"s{i}", "error": None, **row} for i, row in enumerate(scores.samples)]
    spread = decompose("wer_normalizer_spread", rows, {})
    assert spread.components.tolist() == [[0, 3, 0, 3, 0, 2], [2, 2, 0, 2, 0, 2]]
    assert spread.value() == pytest.approx(2 / 5)
    two = [{k: v for k, v in r.items() if k != "wer_whisper_en"} for r in rows]  # two normalisers are enough
    assert decompose("wer_normalizer_spread", two, {}).method == "max - min pooled WER over none, basic"


def test_seeded_defaults_on_a_wide_spread() -> None:
    dec = decompose("wer", _spread_rows(), {})
    seed0 = bootstrap_interval(dec, resamples=1000, seed=0)
    default = bootstrap_interval(dec)
    assert (default.low, default.high) == (seed0.low, seed0.high)
    assert (bootstrap_interval(dec, seed=1).low, bootstrap_interval(dec, seed=1).high) != (seed0.low, seed0.high)
    other = decompose("wer", [_wer_row(f"s{i}", n - e, n) for i, (e, n) in enumerate(_SPREAD)], {})
    pair_default, pair_seed0 = paired_bootstrap(dec, other), paired_bootstrap(dec, other, resamples=1000, seed=0)
    assert (pair_default.low, pair_default.high) == (pair_seed0.low, pair_seed0.high)
    with pytest.raises(
        ValueError, match=r"^paired bootstrap needs the same samples in both runs \(aligned by sample_id\)$"
    ):
        paired_bootstrap(dec, _coin())


def test_metric_intervals_on_a_wide_spread_and_a_metric_that_needs_the_run_row() -> None:
    rows = _spread_rows()
    shuffled = rows[::-1]
    value = 16 / 34
    found = metric_intervals({"rtfx": None, "wer": value}, shuffled, {}, resamples=300, seed=4, level=0.8)
    expected = bootstrap_interval(decompose("wer", rows, {}), resamples=300, seed=4, level=0.8)
    assert (found["wer"].low, found["wer"].high) == (expected.low, expected.high)
    assert (found["wer"].metric, found["wer"].resamples, found["wer"].method) == (
        "wer",
        300,
        "pooled errors / reference words",
    )
    reversed_order = bootstrap_interval(decompose("wer", shuffled, {}), resamples=300, seed=4, level=0.8)
    assert (reversed_order.low, reversed_order.high) != (expected.low, expected.high)  # so the sort matters
    default = metric_intervals({"wer": value}, rows, {})["wer"]
    assert (default.low, default.high, default.resamples) == (
        bootstrap_interval(decompose("wer", rows, {})).low,
        bootstrap_interval(decompose("wer", rows, {})).high,
        1000,
    )
    assert metric_intervals({"wer": value}, rows, {}, resamples=1)["wer"].resamples == 1
    asr_rows, asr_metrics = _asr_rows()
    cer = metric_intervals({"cer": asr_metrics["cer"]}, asr_rows, {"normalizer": "whisper_en"}, resamples=50)
    assert cer["cer"].method == "pooled character errors / reference characters"


def test_with_intervals_passes_seed_and_level_and_leaves_run_rows_alone_when_off() -> None:
    rows = _spread_rows()
    metric_rows = [{"name": "wer", "value": 16 / 34}]
    run_row: dict = {}
    (out,) = with_intervals([dict(m) for m in metric_rows], rows, run_row, Intervals(300, 0.5), seed=7)
    expected = metric_intervals({"wer": 16 / 34}, rows, {}, resamples=300, seed=7, level=0.5)["wer"]
    assert (out["ci_low"], out["ci_high"]) == (expected.low, expected.high)
    assert out["ci_note"] is None
    for off in (None, Intervals(0, 0.95)):
        untouched: dict = {}
        assert with_intervals([dict(m) for m in metric_rows], rows, untouched, off, seed=0) == metric_rows
        assert untouched == {}
    one_run: dict = {}
    (one,) = with_intervals([dict(m) for m in metric_rows], rows, one_run, Intervals(1, 0.95), seed=0)
    assert one["ci_low"] == one["ci_high"] and one_run["ci_resamples"] == 1
    (load,) = with_intervals([{"name": "load_s", "value": 2.0}], rows, {}, Intervals(50, 0.95), seed=0)
    assert load["ci_note"] == "not a sum over samples (measured once per run, or no per-sample columns for it)"


def test_bootstrap_ci_uses_the_stored_value_the_run_row_and_seed_0() -> None:
    con = _connection()
    con.execute("ALTER TABLE samples ADD COLUMN cer DOUBLE")
    con.execute("UPDATE samples SET cer = 1.0")  # "x" -> "y": 1 of 1 character
    con.execute("INSERT INTO metrics VALUES ('r', 'cer', 1.0, false)")
    con.execute("DELETE FROM metrics WHERE name = 'cer' AND value IS NULL")
    cer = bootstrap_ci(con, "r", "cer", resamples=50)
    assert cer is not None and cer.method == "pooled character errors / reference characters"  # normaliser: run row
    default = bootstrap_ci(con, "r", "wer")
    rows = run_samples(con, "r")
    expected = bootstrap_interval(decompose("wer", rows, {}), resamples=1000, seed=0)
    assert (default.low, default.high, default.resamples) == (expected.low, expected.high, 1000)
    con.execute("INSERT INTO metrics VALUES ('r', 'deletion_rate', 0.5, false)")  # stored 0.5, the rows give 0
    assert bootstrap_ci(con, "r", "deletion_rate") is None


def test_translation_rows_that_failed_or_have_no_reference_are_left_out() -> None:
    from modellab.metrics.translation import TranslationScorer

    scorer = TranslationScorer("13a", False, 0)
    kept = [("the cat sat on the mat", "the cat sat on a mat"), ("a dog barked", "the dog barked loudly")]
    corpus = scorer.corpus([h for h, _ in kept], [r for _, r in kept])
    rows = [{"sample_id": str(i), "hypothesis": h, "reference": r, "error": ""} for i, (h, r) in enumerate(kept)]
    rows += [
        {"sample_id": "x", "hypothesis": "words anyway", "reference": "other words", "error": "boom"},  # failed
        {"sample_id": "y", "hypothesis": "no reference", "reference": None, "error": None},
        {"sample_id": "z", "hypothesis": "blank reference", "reference": "   ", "error": None},
    ]
    for metric in ("bleu", "chrf"):
        dec = decompose(metric, rows, scorer.signatures(), stored=corpus[metric])
        assert dec is not None and dec.value() == pytest.approx(corpus[metric]), metric
        assert not dec.components[2:].any(), metric  # the three left-out rows add nothing
    single = [rows[0]]
    assert decompose("bleu", single, scorer.signatures()).value() == pytest.approx(
        scorer.corpus([kept[0][0]], [kept[0][1]])["bleu"]
    )
