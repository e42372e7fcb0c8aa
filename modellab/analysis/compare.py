"""``python -m modellab compare BASELINE CANDIDATE [--dataset D] [--resamples N] [--seed S] [--gate FILE]``.

BASELINE and CANDIDATE are run ids, or ``MODEL[:KEY=VALUE...]`` (the latest complete run of the
model on ``--dataset``, ``preprocessing=none`` unless given), e.g.
``faster_whisper faster_whisper:preprocessing=add_noise_snr0 --dataset cards_golden_v1``.

Prints every metric side by side with the delta, a 95% confidence interval of the delta from a
paired bootstrap over the samples both runs share, and whether it is significant; WER under each
normaliser with their spread; then the utterances that got worse (worst first) and better. With
``--gate`` the regression gate is applied: exit code 1 when it fails (2 for a usage error).
Where NIST sctk is installed, two ASR runs also get sc_stats' matched-pair (MAPSSWE) and sign
tests on their WER, with a DISAGREE line wherever they and the bootstrap differ (``--no-nist``: skip).
``--html OUT`` (as ``python -m modellab compare``) also writes a page: every shared utterance, worst
regression first, reference and both hypotheses as word diffs, with audio; runs that are not
comparable get no page and exit code 3.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellab.analysis.comparable import Comparability, check_comparable
from modellab.analysis.gates import Gate, GateResult, evaluate_rule, load_gate
from modellab.analysis.rundata import RunData, RunNotFoundError, load_run, resolve_run
from modellab.config import ConfigError
from modellab.metrics.direction import higher_is_better
from modellab.metrics.stats import PairedDifference, decompose, paired_bootstrap

__all__ = [
    "Comparison",
    "MetricDelta",
    "SampleChange",
    "compare_runs",
    "format_report",
    "main",
]

NORMALIZER_PREFIX = "wer_"
SPREAD = "wer_normalizer_spread"


@dataclass
class MetricDelta:
    name: str
    baseline: float | None
    candidate: float | None
    higher_is_better: bool | None
    ci: PairedDifference | None = None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def relative(self) -> float | None:
        if self.delta is None or not self.baseline:
            return None
        return self.delta / abs(self.baseline)

    @property
    def verdict(self) -> str:
        """better | worse | same | '' (no direction or no value)."""
        if self.delta is None or self.higher_is_better is None:
            return ""
        if abs(self.delta) <= 1e-12:
            return "same"
        return "better" if (self.delta > 0) == self.higher_is_better else "worse"

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.name,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "delta": self.delta,
            "relative": self.relative,
            "higher_is_better": self.higher_is_better,
            "verdict": self.verdict,
            "ci": self.ci.as_dict() if self.ci else None,
        }


@dataclass
class SampleChange:
    sample_id: str
    baseline: float | None
    candidate: float | None
    status: str  # worse | better | same | newly_failed | fixed | both_failed
    reference: str | None = None
    baseline_output: str | None = None
    candidate_output: str | None = None
    candidate_error: str | None = None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "delta": self.delta}


@dataclass
class Comparison:
    baseline: RunData
    candidate: RunData
    metrics: list[MetricDelta]
    n_paired: int
    resamples: int
    seed: int
    rank_metric: str | None = None
    samples: list[SampleChange] = field(default_factory=list)
    gate: Gate | None = None
    gate_results: list[GateResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    comparability: Comparability = field(default_factory=Comparability)

    @property
    def gate_failed(self) -> bool:
        return self.comparability.comparable and any(r.failed for r in self.gate_results)

    @property
    def verdict(self) -> str:
        """``not comparable`` (the runs did not score the same data), ``FAIL`` or ``PASS`` of the gate."""
        if not self.comparability.comparable:
            return "not comparable"
        return "FAIL" if self.gate_failed else "PASS"

    def metric(self, name: str) -> MetricDelta | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def dataset(self) -> str:
        """The dataset both runs scored (``A vs B`` when they differ)."""
        same = self.baseline.dataset == self.candidate.dataset
        return self.baseline.dataset if same else f"{self.baseline.dataset} vs {self.candidate.dataset}"

    @property
    def paired_minutes(self) -> float | None:
        """Minutes of audio in the paired samples (Σ ``duration_s``, the baseline's where it has one);
        None when no paired sample carries a duration."""
        base_rows, cand_rows = _aligned(self.baseline, self.candidate)
        seconds = [_duration(b, c) for b, c in zip(base_rows, cand_rows, strict=True)]
        known = [d for d in seconds if d is not None]
        return sum(known) / 60 if known else None

    def as_dict(self) -> dict[str, Any]:
        def run(r: RunData) -> dict[str, Any]:
            keys = ("model", "task", "dataset", "preprocessing", "device", "started_at", "git_sha", "status")
            return {"run_id": r.run_id, "hardware": r.hardware, "source": r.source, **{k: r.row.get(k) for k in keys}}

        return {
            "baseline": run(self.baseline),
            "candidate": run(self.candidate),
            "dataset": self.dataset,
            "n": self.n_paired,
            "minutes": self.paired_minutes,
            "n_paired": self.n_paired,
            "resamples": self.resamples,
            "seed": self.seed,
            "metrics": [m.as_dict() for m in self.metrics],
            "rank_metric": self.rank_metric,
            "samples": [s.as_dict() for s in self.samples],
            "gate": None
            if self.gate is None
            else {
                "name": self.gate.name,
                "path": str(self.gate.path),
                "passed": not self.gate_failed,
                "results": [r.as_dict() for r in self.gate_results],
            },
            "notes": self.notes,
            "comparability": self.comparability.as_dict(),
        }


# --- comparing ---------------------------------------------------------------------------------


def _aligned(baseline: RunData, candidate: RunData) -> tuple[list[dict], list[dict]]:
    by_id = {s["sample_id"]: s for s in candidate.samples}
    pairs = [(s, by_id[s["sample_id"]]) for s in baseline.samples if s["sample_id"] in by_id]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _duration(*rows: dict[str, Any]) -> float | None:
    """The first ``duration_s`` among ``rows`` (one sample as each run stored it), None without one."""
    for row in rows:
        if _is_number(row.get("duration_s")):
            return float(row["duration_s"])
    return None


def _metric_order(baseline: RunData, candidate: RunData) -> list[str]:
    names = list(baseline.metrics)
    names += [n for n in candidate.metrics if n not in baseline.metrics]
    return names


def _direction(name: str, baseline: RunData, candidate: RunData) -> bool | None:
    return higher_is_better(baseline.higher_is_better.get(name), candidate.higher_is_better.get(name))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value))


def _rank_metric(baseline: RunData, candidate: RunData, preferred: list[str], explicit: str | None) -> str | None:
    """The per-sample metric used to rank utterances: ``explicit``, else the first gate metric stored per sample."""
    if not baseline.samples or not candidate.samples:
        return None
    columns = set(baseline.samples[0]) & set(candidate.samples[0])
    if explicit:
        if explicit not in columns:
            raise ConfigError(f"--by {explicit}: not a per-sample column of both runs (have: {sorted(columns)})")
        return explicit
    for name in [*preferred, *baseline.metrics]:
        if name in columns and _direction(name, baseline, candidate) is not None:
            if any(_is_number(s.get(name)) for s in baseline.samples):
                return name
    return None


def _output_text(row: dict[str, Any]) -> str | None:
    if row.get("hypothesis") is not None:
        return str(row["hypothesis"])
    output = row.get("output")
    if output is None:
        return None
    return output if isinstance(output, str) else json.dumps(output)


def _sample_changes(baseline: RunData, candidate: RunData, metric: str) -> list[SampleChange]:
    hib = bool(_direction(metric, baseline, candidate))
    base_rows, cand_rows = _aligned(baseline, candidate)
    changes = []
    for b, c in zip(base_rows, cand_rows, strict=True):
        b_err, c_err = b.get("error") not in (None, ""), c.get("error") not in (None, "")
        bv = float(b[metric]) if _is_number(b.get(metric)) else None
        cv = float(c[metric]) if _is_number(c.get(metric)) else None
        if b_err and c_err:
            status = "both_failed"
        elif c_err:
            status = "newly_failed"
        elif b_err:
            status = "fixed"
        elif bv is None or cv is None:
            continue  # nothing to compare (e.g. no reference)
        elif abs(cv - bv) <= 1e-12:
            status = "same"
        else:
            status = "better" if (cv > bv) == hib else "worse"
        changes.append(
            SampleChange(
                sample_id=str(b["sample_id"]),
                baseline=bv,
                candidate=cv,
                status=status,
                reference=b.get("reference"),
                baseline_output=_output_text(b),
                candidate_output=_output_text(c),
                candidate_error=c.get("error") if c_err else None,
            )
        )

    def badness(change: SampleChange) -> tuple[int, float]:
        if change.status == "newly_failed":
            return (0, 0.0)
        worsening = (change.delta or 0.0) * (-1.0 if hib else 1.0)
        return (1, -worsening)

    return sorted(changes, key=badness)


def compare_runs(
    baseline: RunData,
    candidate: RunData,
    resamples: int = 1000,
    seed: int = 0,
    gate: Gate | None = None,
    rank_by: str | None = None,
    ci_metrics: set[str] | None = None,
    same_setup: bool = False,
) -> Comparison:
    """Side-by-side metrics with paired-bootstrap intervals, per-sample changes and (optionally) a gate.

    ``ci_metrics`` limits the (costly) intervals to these metrics; None computes them for all.
    ``same_setup`` (a run against its own pinned baseline) also requires the same weights, options
    and preprocessing for the runs to be comparable (see :mod:`modellab.analysis.comparable`)."""
    notes: list[str] = []
    comparability = check_comparable(baseline, candidate, same_setup)
    if not comparability.comparable:
        notes.append(f"not comparable: {comparability.reason()}")
    base_rows, cand_rows = _aligned(baseline, candidate)
    n_paired = len(base_rows)
    if baseline.dataset != candidate.dataset:
        notes.append(f"different datasets: {baseline.dataset} vs {candidate.dataset}")
    elif baseline.row.get("dataset_hash") != candidate.row.get("dataset_hash"):
        notes.append("same dataset name but different content hashes: the dataset changed between the runs")
    full = n_paired == len(baseline.samples) == len(candidate.samples)
    if n_paired and not full:
        notes.append(
            f"intervals use the {n_paired} samples both runs share "
            f"(baseline {len(baseline.samples)}, candidate {len(candidate.samples)})"
        )
    if not n_paired:
        notes.append("no shared samples: no confidence intervals")
    if baseline.row.get("normalizer") != candidate.row.get("normalizer"):
        notes.append(
            f"primary normalisers differ ({baseline.row.get('normalizer')} vs {candidate.row.get('normalizer')})"
        )

    deltas = []
    for name in _metric_order(baseline, candidate):
        hib = _direction(name, baseline, candidate)
        md = MetricDelta(name, baseline.metrics.get(name), candidate.metrics.get(name), hib)
        wanted = ci_metrics is None or name in ci_metrics
        if wanted and n_paired and hib is not None and md.delta is not None:
            b_dec = decompose(name, base_rows, baseline.row, baseline.metrics[name] if full else None)
            c_dec = decompose(name, cand_rows, candidate.row, candidate.metrics[name] if full else None)
            if b_dec is not None and c_dec is not None and b_dec.method == c_dec.method:
                md.ci = paired_bootstrap(b_dec, c_dec, resamples, seed, metric=name)
        deltas.append(md)

    comparison = Comparison(baseline, candidate, deltas, n_paired, resamples, seed, notes=notes)
    comparison.comparability = comparability
    preferred = gate.metrics if gate is not None else _default_rank_order()
    comparison.rank_metric = _rank_metric(baseline, candidate, preferred, rank_by)
    if comparison.rank_metric:
        comparison.samples = _sample_changes(baseline, candidate, comparison.rank_metric)
    if gate is not None:
        comparison.gate = gate
        comparison.gate_results = apply_gate(gate, comparison)
    return comparison


def _default_rank_order() -> list[str]:
    try:
        return load_gate("default").metrics
    except ConfigError:
        return []


def apply_gate(gate: Gate, comparison: Comparison) -> list[GateResult]:
    same_hw = comparison.comparability.speed_comparable
    results = []
    for rule in gate.rules:
        md = comparison.metric(rule.metric)
        hib = md.higher_is_better if md else None
        significant_worse = None
        if md is not None and md.ci is not None:
            direction = higher_is_better(rule.higher_is_better, hib)
            if direction is not None:
                significant_worse = md.ci.significant and ((md.ci.delta < 0) if direction else (md.ci.delta > 0))
        results.append(
            evaluate_rule(
                rule,
                md.baseline if md else None,
                md.candidate if md else None,
                hib,
                same_hw,
                significant_worse,
            )
        )
    return results


# --- printing ----------------------------------------------------------------------------------


def _f(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f}%"


def _short(text: str | None, width: int = 60) -> str:
    if text is None:
        return "—"
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _size(n: int, minutes: float | None) -> str:
    """``n=5, 0.42 min`` (``n=5`` alone without durations)."""
    if minutes is None:
        return f"n={n}"
    shown = f"{minutes:.2f}" if minutes < 10 else f"{minutes:.1f}" if minutes < 100 else f"{minutes:.0f}"
    return f"n={n}, {shown} min"


def _run_line(tag: str, run: RunData) -> str:
    sha = str(run.row.get("git_sha") or "")[:8]
    when = str(run.row.get("started_at") or "")[:19]
    source = "" if run.source == "results" else f" [{run.source}]"
    return f"{tag}: {run.run_id}  {run.label()}  ({run.hardware}, {when}, git {sha}){source}"


def format_report(cmp: Comparison, top: int = 10) -> str:
    from tabulate import tabulate

    out = [_run_line("baseline ", cmp.baseline), _run_line("candidate", cmp.candidate)]
    out.append(f"dataset: {cmp.dataset} ({_size(cmp.n_paired, cmp.paired_minutes)} paired)")
    out.append(
        f"paired on {cmp.n_paired} samples; 95% CI of the delta from {cmp.resamples} paired bootstrap resamples "
        f"(seed {cmp.seed})"
    )
    out += [f"note: {n}" for n in cmp.notes]
    table = []
    for m in cmp.metrics:
        ci = m.ci
        table.append(
            [
                m.name,
                _f(m.baseline),
                _f(m.candidate),
                _f(m.delta, signed=True),
                _pct(m.relative),
                f"[{_f(ci.low, True)}, {_f(ci.high, True)}]" if ci else "—",
                f"{ci.p_value:.3f}" if ci else "—",
                ("yes" if ci.significant else "no") if ci else "—",
                m.verdict,
            ]
        )
    headers = ["metric", "baseline", "candidate", "delta", "rel", "95% CI (delta)", "p", "significant", ""]
    out += ["", tabulate(table, headers=headers, tablefmt="github")]

    norm = [m for m in cmp.metrics if m.name.startswith(NORMALIZER_PREFIX) and m.name != SPREAD]
    spread = cmp.metric(SPREAD)
    if norm:
        names = [m.name.removeprefix(NORMALIZER_PREFIX) for m in norm] + (["spread"] if spread else [])
        cols = norm + ([spread] if spread else [])
        rows = [
            ["baseline", *[_f(m.baseline) for m in cols]],
            ["candidate", *[_f(m.candidate) for m in cols]],
            ["delta", *[_f(m.delta, True) for m in cols]],
            ["95% CI", *[f"[{_f(m.ci.low, True)}, {_f(m.ci.high, True)}]" if m.ci else "—" for m in cols]],
        ]
        out += ["", "WER by normaliser (spread = max - min):", tabulate(rows, headers=["", *names], tablefmt="github")]

    if cmp.rank_metric:
        counts: dict[str, int] = {}
        for s in cmp.samples:
            counts[s.status] = counts.get(s.status, 0) + 1
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items()))
        out += ["", f"per sample ({cmp.rank_metric}): {summary or 'nothing comparable'}"]
        for title, statuses in (("worse, worst first", ("newly_failed", "worse")), ("better", ("better", "fixed"))):
            chosen = [s for s in cmp.samples if s.status in statuses]
            if title == "better":
                chosen = list(reversed(chosen))
            if not chosen:
                continue
            rows = [
                [
                    s.sample_id,
                    _f(s.baseline),
                    _f(s.candidate) if s.status != "newly_failed" else "FAILED",
                    _f(s.delta, True),
                    _short(s.reference, 40),
                    _short(s.baseline_output, 40),
                    _short(s.candidate_error or s.candidate_output, 40),
                ]
                for s in chosen[:top]
            ]
            more = f" (first {top} of {len(chosen)})" if len(chosen) > top else ""
            out += [
                f"{title}{more}:",
                tabulate(
                    rows,
                    headers=["sample", "baseline", "candidate", "delta", "reference", "baseline out", "candidate out"],
                    tablefmt="github",
                ),
            ]

    if cmp.gate is not None and not cmp.comparability.comparable:
        out += ["", f"gate '{cmp.gate.name}' ({cmp.gate.path}): NOT COMPARABLE (neither a pass nor a regression)"]
        out += [f"  {d.describe()}" for d in cmp.comparability.quality]
        return "\n".join(out)
    if cmp.gate is not None:
        out += ["", f"gate '{cmp.gate.name}' ({cmp.gate.path}): {cmp.verdict}"]
        rows = [
            [r.metric, r.status.upper() if r.failed else r.status, _f(r.baseline), _f(r.candidate), r.reason]
            for r in cmp.gate_results
        ]
        out.append(tabulate(rows, headers=["metric", "status", "baseline", "candidate", "why"], tablefmt="github"))
        failed = [r for r in cmp.gate_results if r.failed]
        if failed:
            out.append(
                f"REGRESSION: {len(failed)} of {len(cmp.gate_results)} rules failed: "
                + "; ".join(f"{r.metric} {r.reason}" for r in failed)
            )
    return "\n".join(out)


# --- command line ------------------------------------------------------------------------------


HtmlRenderer = Callable[[Comparison, Path, str | None], Path]


def main(argv: list[str] | None = None, render_html: HtmlRenderer | None = None) -> int:
    """The command; ``render_html(comparison, out, metric)`` writes ``--html OUT`` (the site package
    passes it: this layer may not import the site, see ``modellab/site/compare_cli.py``)."""
    parser = argparse.ArgumentParser(
        prog="python -m modellab compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("baseline", help="run id, or MODEL[:KEY=VALUE...] (latest run)")
    parser.add_argument("candidate", help="run id, or MODEL[:KEY=VALUE...] (latest run)")
    parser.add_argument("--dataset", help="dataset for model-name references")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--gate", help="gate file or name under conf/gates/ (e.g. conf/gates/default.yaml)")
    parser.add_argument("--by", help="per-sample metric that ranks utterances (default: the first gate metric)")
    parser.add_argument("--top", type=int, default=10, help="utterances listed per direction (default 10)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    parser.add_argument("--no-nist", action="store_true", help="skip sc_stats' MAPSSWE and sign tests (sctk)")
    parser.add_argument(
        "--html",
        metavar="OUT",
        help="also write OUT, an HTML page: utterances side by side with word diffs and audio "
        "(exit 3, no page, when the runs are not comparable)",
    )
    args = parser.parse_args(argv)
    if args.html and render_html is None:
        parser.error("--html: run it as `python -m modellab compare` (the site package renders the page)")
    if args.resamples < 1:
        parser.error("--resamples must be >= 1")

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

    try:
        gate = load_gate(args.gate) if args.gate else None
        con = connect(Path(args.results_dir) if args.results_dir else default_results_dir())
        base = load_run(con, resolve_run(con, args.baseline, args.dataset))
        cand = load_run(con, resolve_run(con, args.candidate, args.dataset))
        if gate is not None and base.dataset != cand.dataset:
            raise ConfigError(
                f"a regression gate needs both runs on the same dataset ({base.dataset} vs {cand.dataset})"
            )
        cmp = compare_runs(base, cand, args.resamples, args.seed, gate, args.by)
    except (RunNotFoundError, ConfigError) as exc:
        print(f"modellab.analysis.compare: {exc}", file=sys.stderr)
        return 2
    from modellab.analysis.referee import SctkError, format_nist, nist_comparison

    try:  # NIST sc_stats beside the bootstrap, when sctk is installed and the runs are transcripts
        nist = None if args.no_nist else nist_comparison(cmp)
    except SctkError as exc:
        nist = None
        print(f"modellab.analysis.compare: sc_stats skipped: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps({**cmp.as_dict(), "nist": nist.as_dict() if nist else None}, indent=1, default=str))
    else:
        print(format_report(cmp, args.top) + (format_nist(nist) if nist else ""))
    if args.html and render_html is not None:
        if not cmp.comparability.comparable:
            print(
                f"modellab.analysis.compare: no page written to {args.html}: the runs are not comparable "
                f"(they did not score the same data): {cmp.comparability.reason()}",
                file=sys.stderr,
            )
            return 3
        try:
            print(f"wrote {render_html(cmp, Path(args.html), args.by)}", file=sys.stderr)
        except ValueError as exc:  # e.g. no shared sample
            print(f"modellab.analysis.compare: no page written to {args.html}: {exc}", file=sys.stderr)
            return 3
    if gate is not None and not cmp.comparability.comparable:
        return 3
    return 1 if cmp.gate_failed else 0


if __name__ == "__main__":
    sys.exit(main())
