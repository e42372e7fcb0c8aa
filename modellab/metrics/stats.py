"""Bootstrap confidence intervals over samples, for pooled metrics.

A run metric such as WER is pooled (Σ errors ÷ Σ reference words), so it is not a mean of
per-sample values and cannot be bootstrapped by resampling per-sample WERs. Each metric is
instead *decomposed* into per-sample components (an ``n × k`` matrix, e.g. ``[errors, ref_words]``)
plus a statistic of their column sums (``errors / ref_words``). A bootstrap replicate draws
sample indices with replacement, sums the components of the drawn samples and applies the
statistic. A paired bootstrap draws the same indices for two runs (aligned by ``sample_id``), so
the interval is the one of the *difference*, with the per-sample correlation taken into account.

A decomposition is trusted only if it reproduces the stored run metric on the full sample set;
otherwise no interval is given (never a made-up one). Tasks can add their own decompositions
with :func:`register_decomposition`; metrics stored per sample and pooled as a plain mean or a
duration-weighted mean are found automatically.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ConfidenceInterval",
    "Intervals",
    "Decomposition",
    "PairedDifference",
    "bootstrap_ci",
    "bootstrap_interval",
    "decompose",
    "metric_intervals",
    "no_interval_reason",
    "paired_bootstrap",
    "register_decomposition",
    "run_samples",
    "with_intervals",
]

LEVEL = 0.95
_CHUNK = 512  # replicates per block (bounds memory: chunk × n weights)
_MAX_WEIGHTS = 4_000_000  # at most this many weights per block (32 MB), for runs of many samples

Statistic = Callable[[np.ndarray], np.ndarray]  # (replicates × k) sums -> (replicates,) values


@dataclass
class Decomposition:
    """Per-sample components (``n × k``, zero rows for excluded samples) and the pooled statistic."""

    components: np.ndarray
    statistic: Statistic
    method: str

    def value(self, weights: np.ndarray | None = None) -> float:
        sums = self.components.sum(axis=0) if weights is None else weights @ self.components
        return float(self.statistic(np.atleast_2d(sums))[0])


@dataclass
class ConfidenceInterval:
    """A run metric with a percentile bootstrap interval over its samples."""

    metric: str
    value: float
    low: float
    high: float
    level: float
    resamples: int
    n_samples: int
    method: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PairedDifference:
    """``candidate - baseline`` on the samples both runs share, with its paired-bootstrap interval."""

    metric: str
    delta: float
    low: float
    high: float
    level: float
    resamples: int
    n_paired: int
    p_value: float
    method: str

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "significant": self.significant}


# --- decompositions ----------------------------------------------------------------------------

Decomposer = Callable[[str, list[dict[str, Any]], dict[str, Any]], Decomposition | None]
_REGISTRY: list[tuple[re.Pattern[str], Decomposer]] = []


def register_decomposition(pattern: str, decomposer: Decomposer) -> None:
    """Register ``decomposer(metric, sample_rows, run_row)`` for metric names matching ``pattern``.

    Later registrations win. Return None when the rows lack what the decomposition needs.
    """
    _REGISTRY.insert(0, (re.compile(pattern), decomposer))


def _ok(row: dict[str, Any]) -> bool:
    return row.get("error") in (None, "") and row.get("hypothesis", "") is not None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _ratio(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[:, 0] / sums[:, 1]


def _scored_as_asr(row: dict[str, Any]) -> bool:
    """Whether the ASR task scored this row: it did not fail and its reference is not empty under the
    ``basic`` normaliser (``modellab.tasks.asr`` excludes those and counts them in ``n_ref_excluded_empty``)."""
    from modellab.metrics.normalizers import get_normalizer

    ref = row.get("reference")
    return _ok(row) and ref is not None and bool(get_normalizer("basic")(ref))


def _units(text: str, chars: bool) -> int:
    return len(text) if chars else len(text.split())


def _rate_from_column(column: str, rows: list[dict[str, Any]], normalizer: str, chars: bool) -> np.ndarray:
    """Per-sample ``[errors, reference units]`` from a stored per-sample rate under ``normalizer``.

    A reference that ``normalizer`` empties (``(9 seconds of silence)`` under ``whisper_en``) has no
    rate (NaN) but is scored: every unit of its normalised hypothesis is an insertion, which the pooled
    metric counts, so the decomposition counts it too (``[insertions, 0]``)."""
    from modellab.metrics.normalizers import get_normalizer

    norm = get_normalizer(normalizer)
    comp = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        if not _scored_as_asr(row):
            continue
        length = _units(norm(row["reference"]), chars)
        if length == 0:
            comp[i] = (_units(norm(row.get("hypothesis") or ""), chars), 0.0)
            continue
        rate = _num(row.get(column))
        if rate is not None:
            comp[i] = (round(rate * length), length)
    return comp


def _asr_wer(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """Primary WER and its S/D/I rates from the stored counts; ``wer_<normaliser>`` by re-normalising refs."""
    if not rows or "reference" not in rows[0]:
        return None
    if metric in ("wer", "substitution_rate", "deletion_rate", "insertion_rate"):
        if "ref_words" not in rows[0]:
            return None
        parts = {
            "wer": ("substitutions", "deletions", "insertions"),
            "substitution_rate": ("substitutions",),
            "deletion_rate": ("deletions",),
            "insertion_rate": ("insertions",),
        }[metric]
        comp = np.zeros((len(rows), 2))
        for i, row in enumerate(rows):
            ref_words = _num(row.get("ref_words"))
            if ref_words is None or not _ok(row):  # 0 words (an empty normalised reference) still has insertions
                continue
            comp[i] = (sum(_num(row.get(p)) or 0.0 for p in parts), ref_words)
        return Decomposition(comp, _ratio, "pooled errors / reference words")
    name = metric.removeprefix("wer_")
    from modellab.metrics.normalizers import NORMALIZERS

    if name not in NORMALIZERS or metric not in rows[0]:
        return None
    comp = _rate_from_column(metric, rows, name, chars=False)
    return Decomposition(comp, _ratio, f"pooled errors / reference words ({name} normaliser)")


def _asr_cer(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    normalizer = run.get("normalizer")
    if not rows or "cer" not in rows[0] or not normalizer:
        return None
    comp = _rate_from_column("cer", rows, str(normalizer), chars=True)
    return Decomposition(comp, _ratio, "pooled character errors / reference characters")


def _normalizer_spread(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    from modellab.metrics.normalizers import NORMALIZERS

    names = [n for n in NORMALIZERS if rows and f"wer_{n}" in rows[0]]
    if len(names) < 2:
        return None
    blocks = [_rate_from_column(f"wer_{n}", rows, n, chars=False) for n in names]

    def spread(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.stack([sums[:, 2 * j] / sums[:, 2 * j + 1] for j in range(len(names))], axis=1)
        return rates.max(axis=1) - rates.min(axis=1)

    return Decomposition(np.hstack(blocks), spread, f"max - min pooled WER over {', '.join(names)}")


def _speed(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """RTFx = Σ audio ÷ Σ model-call seconds; RTF its inverse; over samples that did not fail."""
    if not rows or "compute_s" not in rows[0]:
        return None
    comp = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        audio, compute = _num(row.get("duration_s")), _num(row.get("compute_s"))
        if row.get("error") not in (None, "") or audio is None or compute is None:
            continue
        comp[i] = (audio, compute) if metric == "rtfx" else (compute, audio)
    return Decomposition(comp, _ratio, "Σ audio s / Σ compute s" if metric == "rtfx" else "Σ compute s / Σ audio s")


def _gate_pass_rate(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    if not rows or "gates_passed" not in rows[0]:
        return None
    comp = np.array(
        [[1.0 if r.get("gates_passed") else 0.0, 1.0] if r.get("gates_passed") is not None else [0, 0] for r in rows]
    )
    return Decomposition(comp.reshape(len(rows), 2), _ratio, "share of samples passing all gates")


def _per_sample_mean(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> list[Decomposition]:
    """Candidates for a metric also stored per sample: plain mean and duration-weighted mean."""
    if not rows or metric not in rows[0]:
        return []
    values = [_num(r.get(metric)) if not isinstance(r.get(metric), str) else None for r in rows]
    plain = np.array([[v, 1.0] if v is not None else [0.0, 0.0] for v in values])
    out = [Decomposition(plain, _ratio, "mean over samples")]
    durations = [_num(r.get("duration_s")) for r in rows]
    if all(d is not None for d, v in zip(durations, values, strict=True) if v is not None):
        weighted = np.array(
            [
                [v * d, d] if v is not None and d is not None else [0.0, 0.0]
                for v, d in zip(values, durations, strict=True)
            ]
        )
        out.append(Decomposition(weighted, _ratio, "duration-weighted mean over samples"))
    return out


def _diarization(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """DER and its parts are pooled over scored speech time: Σ(rate × scored s) ÷ Σ scored s."""
    if not rows or metric not in rows[0] or "scored_speech_s" not in rows[0]:
        return None
    comp = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        rate, total = _num(row.get(metric)), _num(row.get("scored_speech_s"))
        if rate is not None and total:
            comp[i] = (rate * total, total)
    return Decomposition(comp, _ratio, "pooled error time / scored speech time")


def _pooled_errors(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """A rate pooled from per-sample counts ``<metric>_errors`` ÷ ``<metric>_words`` (cpWER, WDER)."""
    errors, words = f"{metric}_errors", f"{metric}_words"
    if not rows or errors not in rows[0] or words not in rows[0]:
        return None
    comp = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        e, w = _num(row.get(errors)), _num(row.get(words))
        if _ok(row) and e is not None and w is not None:
            comp[i] = (e, w)
    return Decomposition(comp, _ratio, f"pooled {errors} / {words}")


def _signature_field(signature: Any, key: str) -> str | None:
    for part in str(signature or "").split("|"):
        name, _, value = part.partition(":")
        if name == key:
            return value
    return None


def _bleu_statistics(scorer: Any, hypotheses: list[str], references: list[str]) -> tuple[list[list[int]], Any]:
    """Per-sentence BLEU sufficient statistics ``[sys_len, ref_len, counts..., totals...]`` through
    sacrebleu's public API (each sentence's ``BLEUScore``), and ``BLEU.compute_bleu`` with the corpus
    scorer's smoothing to score summed statistics: the same numbers as the corpus score's own."""
    from sacrebleu.metrics import BLEU

    # effective_order changes only the sentence *score* (unused here), not its counts; it silences
    # sacrebleu's "enable effective_order for sentence-level BLEU" warning.
    per_sentence = copy.copy(scorer)
    per_sentence.effective_order = True
    scores = [per_sentence.sentence_score(h, [r]) for h, r in zip(hypotheses, references, strict=True)]
    stats = [[s.sys_len, s.ref_len, *s.counts, *s.totals] for s in scores]
    order = scorer.max_ngram_order

    def score(summed: list[int]) -> float:
        return BLEU.compute_bleu(
            correct=summed[2 : 2 + order],
            total=summed[2 + order :],
            sys_len=summed[0],
            ref_len=summed[1],
            smooth_method=scorer.smooth_method,
            smooth_value=scorer.smooth_value,
            effective_order=scorer.effective_order,
            max_ngram_order=order,
        ).score

    return stats, score


def _chrf_statistics(scorer: Any, hypotheses: list[str], references: list[str]) -> tuple[list[list[int]], Any]:
    """Per-sentence chrF statistics. sacrebleu has no public route to them (``CHRFScore`` carries only
    the score; re-scoring every bootstrap replicate's corpus would tokenise it again, resamples × n
    sentences), so this uses ``CHRF``'s statistics methods, as ``corpus_score`` itself does."""
    stats = scorer._extract_corpus_statistics(hypotheses, [references])
    return stats, lambda summed: scorer._compute_score_from_stats(summed).score


def _translation(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """Corpus BLEU / chrF from summed per-sentence sacrebleu statistics (options from the run's signature)."""
    signature = run.get(f"{metric}_signature")
    if not rows or signature is None or "hypothesis" not in rows[0]:
        return None
    from sacrebleu.metrics import BLEU, CHRF

    lowercase = _signature_field(signature, "case") == "lc"
    if metric == "bleu":
        scorer: Any = BLEU(tokenize=_signature_field(signature, "tok") or "13a", lowercase=lowercase)
    else:
        scorer = CHRF(word_order=int(_signature_field(signature, "nw") or 0), lowercase=lowercase)
    scored = [
        i
        for i, r in enumerate(rows)
        if r.get("error") in (None, "") and r.get("hypothesis") is not None and (r.get("reference") or "").strip()
    ]
    if not scored:
        return None
    extract = _bleu_statistics if metric == "bleu" else _chrf_statistics
    stats, score_of = extract(
        scorer, [rows[i]["hypothesis"] for i in scored], [(rows[i]["reference"] or "").strip() for i in scored]
    )
    comp = np.zeros((len(rows), len(stats[0])))
    comp[scored] = np.array(stats, dtype=float)

    def corpus_score(sums: np.ndarray) -> np.ndarray:
        out = np.full(sums.shape[0], np.nan)
        for j, row in enumerate(sums):
            if row.any():
                try:
                    out[j] = score_of([int(round(v)) for v in row])
                except (ZeroDivisionError, ValueError):
                    pass
        return out

    return Decomposition(comp, corpus_score, f"corpus {metric} from summed sentence statistics")


register_decomposition(r"^(wer|wer_[a-z0-9_]+|substitution_rate|deletion_rate|insertion_rate)$", _asr_wer)
register_decomposition(r"^(der|der_miss|der_false_alarm|der_confusion)$", _diarization)
register_decomposition(r"^(bleu|chrf)$", _translation)
register_decomposition(r"^wer_normalizer_spread$", _normalizer_spread)
register_decomposition(r"^cer$", _asr_cer)
register_decomposition(r"^(rtfx|rtf)$", _speed)
register_decomposition(r"^gate_pass_rate$", _gate_pass_rate)
register_decomposition(r"^(cpwer|wder)$", _pooled_errors)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def decompose(
    metric: str, rows: list[dict[str, Any]], run: dict[str, Any], stored: float | None = None
) -> Decomposition | None:
    """The decomposition of ``metric`` over ``rows``; if ``stored`` is given it must reproduce it."""
    candidates: list[Decomposition] = []
    for pattern, decomposer in _REGISTRY:
        if pattern.match(metric):
            found = decomposer(metric, rows, run)
            if found is not None:
                candidates.append(found)
                break
    if not candidates:  # a known metric is never second-guessed by a mean that happens to match
        candidates = _per_sample_mean(metric, rows, run)
    for cand in candidates:
        if not cand.components.any():
            continue
        value = cand.value()
        if math.isnan(value):
            continue
        if stored is None or _close(value, stored):
            return cand
    return None


# --- bootstrap ---------------------------------------------------------------------------------


def _replicates(decomps: Sequence[Decomposition], n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """Statistic of each decomposition under the *same* resampled indices (paired)."""
    rng = np.random.default_rng(seed)
    out: list[list[np.ndarray]] = [[] for _ in decomps]
    p = np.full(n, 1.0 / n)
    done = 0
    while done < resamples:
        size = min(_CHUNK, max(1, _MAX_WEIGHTS // max(n, 1)), resamples - done)
        weights = rng.multinomial(n, p, size=size).astype(float)
        for j, d in enumerate(decomps):
            out[j].append(d.statistic(weights @ d.components))
        done += size
    return [np.concatenate(parts) for parts in out]


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_interval(
    decomposition: Decomposition, resamples: int = 1000, seed: int = 0, level: float = LEVEL, metric: str = ""
) -> ConfidenceInterval:
    """Percentile bootstrap interval of one decomposed metric."""
    n = decomposition.components.shape[0]
    (reps,) = _replicates([decomposition], n, resamples, seed)
    low, high = _percentiles(reps, level)
    return ConfidenceInterval(metric, decomposition.value(), low, high, level, resamples, n, decomposition.method)


def paired_bootstrap(
    baseline: Decomposition,
    candidate: Decomposition,
    resamples: int = 1000,
    seed: int = 0,
    level: float = LEVEL,
    metric: str = "",
) -> PairedDifference:
    """Interval of ``candidate - baseline``; both decompositions must have rows aligned by sample."""
    if baseline.components.shape[0] != candidate.components.shape[0]:
        raise ValueError("paired bootstrap needs the same samples in both runs (aligned by sample_id)")
    n = baseline.components.shape[0]
    base, cand = _replicates([baseline, candidate], n, resamples, seed)
    diffs = cand - base
    low, high = _percentiles(diffs, level)
    finite = diffs[np.isfinite(diffs)]
    if finite.size:
        # Two-sided bootstrap p-value: how often the resampled difference lands on the other side of 0.
        p = 2.0 * min(np.mean(finite <= 0), np.mean(finite >= 0))
        p_value = float(min(1.0, p))
    else:
        p_value = float("nan")
    delta = candidate.value() - baseline.value()
    return PairedDifference(metric, delta, low, high, level, resamples, n, p_value, baseline.method)


def metric_intervals(
    metrics: Mapping[str, float | None],
    rows: Sequence[Mapping[str, Any]],
    run: Mapping[str, Any],
    resamples: int = 1000,
    seed: int = 0,
    level: float = LEVEL,
) -> dict[str, ConfidenceInterval]:
    """Intervals of every metric in ``metrics`` (name -> stored value) that decomposes over the
    run's sample rows and reproduces its value; all from the same resampled indices.

    Rows are taken in ``sample_id`` order, as :func:`run_samples` reads them, so the runner's
    stored intervals equal :func:`bootstrap_ci` on the stored run with the same seed.
    """
    if resamples <= 0 or not rows:
        return {}
    ordered = sorted((dict(r) for r in rows), key=lambda r: str(r.get("sample_id")))
    found: dict[str, Decomposition] = {}
    for name, value in metrics.items():
        if value is None or not math.isfinite(value):
            continue
        decomposition = decompose(name, ordered, dict(run), float(value))
        if decomposition is not None:
            found[name] = decomposition
    if not found:
        return {}
    replicates = _replicates(list(found.values()), len(ordered), resamples, seed)
    out = {}
    for (name, decomposition), reps in zip(found.items(), replicates, strict=True):
        low, high = _percentiles(reps, level)
        if math.isfinite(low) and math.isfinite(high):
            out[name] = ConfidenceInterval(
                name, decomposition.value(), low, high, level, resamples, len(ordered), decomposition.method
            )
    return out


@dataclass(frozen=True)
class Intervals:
    """Which intervals a run stores with its metrics (top-level config ``intervals``)."""

    resamples: int  # bootstrap replicates; 0 stores none
    level: float


def with_intervals(
    metric_rows: list[dict[str, Any]],
    sample_rows: Sequence[Mapping[str, Any]],
    run_row: dict[str, Any],
    intervals: Intervals | None,
    seed: int,
) -> list[dict[str, Any]]:
    """``metric_rows`` with ``ci_low``/``ci_high`` (None where a metric does not decompose over
    samples, e.g. load time) and the run row with ``ci_level``/``ci_resamples``: what the runner
    and ``modellab.run.rescore`` store, so leaderboards show intervals without resampling."""
    if intervals is None or intervals.resamples <= 0:
        return metric_rows
    values = {str(m["name"]): m["value"] for m in metric_rows}
    found = metric_intervals(values, sample_rows, run_row, intervals.resamples, seed, intervals.level)
    run_row["ci_level"] = intervals.level
    run_row["ci_resamples"] = intervals.resamples
    for m in metric_rows:
        ci = found.get(str(m["name"]))
        m["ci_low"] = ci.low if ci else None
        m["ci_high"] = ci.high if ci else None
        m["ci_note"] = None if ci else no_interval_reason(str(m["name"]), m["value"], sample_rows, run_row)
    return metric_rows


def no_interval_reason(
    metric: str, value: float | None, rows: Sequence[Mapping[str, Any]], run: Mapping[str, Any]
) -> str:
    """Why ``metric`` has no bootstrap interval (stored as the metric row's ``ci_note``): an interval
    never vanishes silently."""
    if value is None or not math.isfinite(value):
        return "no finite value to resample"
    if not rows:
        return "the run has no sample rows"
    ordered = sorted((dict(r) for r in rows), key=lambda r: str(r.get("sample_id")))
    found = decompose(metric, ordered, dict(run))
    if found is None:
        return "not a sum over samples (measured once per run, or no per-sample columns for it)"
    recomputed = found.value()
    if not _close(recomputed, float(value)):
        if not any(pattern.match(metric) for pattern, _ in _REGISTRY):
            return "a run total or count, not a mean or rate over samples"
        return f"its per-sample decomposition ({found.method}) gives {recomputed:.6g}, not the stored {value:.6g}"
    return "the bootstrap replicates are not finite (too few samples with a non-zero denominator)"


# --- straight from the results views -----------------------------------------------------------


def _rows(cursor: Any) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def run_samples(con: Any, run_id: str) -> list[dict[str, Any]]:
    """The ``samples`` rows of one run, ordered by ``sample_id``."""
    return _rows(con.execute("SELECT * FROM samples WHERE run_id = ? ORDER BY sample_id", [run_id]))


def bootstrap_ci(
    con: Any, run_id: str, metric: str, resamples: int = 1000, seed: int = 0, level: float = LEVEL
) -> ConfidenceInterval | None:
    """95% bootstrap interval of ``metric`` of run ``run_id`` (a :func:`modellab.results.views.connect`
    connection), or None where the metric cannot be decomposed over samples (load time, memory, ...)."""
    stored = con.execute(
        "SELECT value, higher_is_better FROM metrics WHERE run_id = ? AND name = ?", [run_id, metric]
    ).fetchone()
    if stored is None or stored[0] is None:
        return None
    run = _rows(con.execute("SELECT * FROM runs_raw WHERE run_id = ?", [run_id]))
    decomposition = decompose(metric, run_samples(con, run_id), run[0] if run else {}, float(stored[0]))
    if decomposition is None:
        return None
    return bootstrap_interval(decomposition, resamples, seed, level, metric)
