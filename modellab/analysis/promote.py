"""``python -m modellab promote MODEL [--write] [--policy promotion]`` (or ``--all``): propose a model's
next registry status from the results, show the evidence, and with ``--write`` set ``info.status`` in
``conf/model/<MODEL>.yaml`` (only that value changes; comments and layout stay).

A model moves one step at a time, experimental -> candidate -> production, by the rules in
``conf/gates/promotion.yaml``. The evidence of a capability is the datasets whose YAML says
``role: quality`` and whose ``tasks`` name it (less the policy's ``evidence.exclude``), in the languages
the model speaks (``info.languages``; none listed: every language). Every check ends in one of:

* ``pass`` / ``fail``;
* ``undecided`` — more data needed: a run is missing (the check names the command that makes it), the
  evidence is below the policy's minimum (``evidence.min_samples`` / ``min_minutes`` per capability and
  language), or an interval straddles the margin;
* ``skipped`` — the dataset is not available here (its own availability: built, or buildable offline) and
  nobody ran it: never counted as a failure;
* ``not comparable`` — the two runs did not score the same data (:mod:`modellab.analysis.comparable`):
  that pair is no evidence either way (left out of the pooled comparison; a pin that cannot vouch).

experimental -> candidate: every capability with a task has complete, failure-free runs
(``preprocessing: none``) on its available quality sets, at least the minimum evidence, sanity gates passing
(``gate_pass_rate >= min_gate_pass_rate``) and its pinned baselines (``promotion.gate``) holding.
candidate -> production: all of that, plus non-inferiority against the current production model(s) of the
capability, per language, on the samples both ran: for each policy rule the paired-bootstrap 95% interval of
the worsening (candidate - production, signed so that positive is worse) passes when it lies entirely within
the rule's margin, fails when it lies entirely beyond it, and is undecided otherwise (and below the minimum
evidence). ``versus_production: best`` compares with the production model that has the best mean value of
the first rule metric over the paired sets; ``all`` with every one. Any
failing check keeps the status; otherwise any undecided check keeps it too ("undecided — more data needed").
Production models are never demoted automatically; when they no longer qualify, it is said.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import yaml

from modellab.analysis.comparable import check_comparable
from modellab.analysis.gates import Gate, GateRule, load_gate
from modellab.analysis.rundata import RunData, has_runs, load_run, rows
from modellab.config import CONF_DIR, ConfigError
from modellab.metrics.direction import higher_is_better
from modellab.results.latest import latest_complete

__all__ = [
    "CHECK_STATUSES",
    "Check",
    "DatasetInfo",
    "EvidencePolicy",
    "ModelEntry",
    "Proposal",
    "STATUSES",
    "dataset_availability",
    "dataset_catalog",
    "evaluate_model",
    "evidence_policy",
    "golden_datasets",
    "latest_index",
    "main",
    "model_registry",
    "quality_datasets",
    "rule_verdict",
    "run_command",
    "write_status",
]

STATUSES = ("experimental", "candidate", "production")
PASS, FAIL, UNDECIDED, SKIPPED, NOT_COMPARABLE = "pass", "fail", "undecided", "skipped", "not comparable"
CHECK_STATUSES = (PASS, FAIL, UNDECIDED, SKIPPED, NOT_COMPARABLE)
MORE_DATA = "undecided — more data needed"
_EPS = 1e-12


@dataclass
class ModelEntry:
    name: str
    status: str
    capabilities: list[str]
    path: Path
    languages: list[str] = field(default_factory=list)  # [] = any language


@dataclass
class DatasetInfo:
    """A dataset's facts that promotion needs, read straight from its YAML."""

    name: str
    tasks: list[str]
    role: str
    language: str


@dataclass
class Interval:
    """The paired-bootstrap interval of one rule's worsening (positive = candidate worse), and its margin."""

    metric: str
    delta: float  # candidate - production, in the metric's units
    low: float  # 95% interval of the delta
    high: float
    margin: float  # the largest worsening the rule allows
    n: int  # paired samples behind it

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Check:
    """One piece of evidence: what was checked, how it came out (:data:`CHECK_STATUSES`), and the runs,
    sample count, minutes and intervals behind it; ``command`` gathers what is missing."""

    name: str
    status: str
    detail: str
    run_ids: list[str] = field(default_factory=list)
    for_production: bool = False
    n: int | None = None
    minutes: float | None = None
    intervals: list[Interval] = field(default_factory=list)
    command: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "intervals"}
        return {**out, "passed": self.passed, "intervals": [i.as_dict() for i in self.intervals]}


@dataclass
class Proposal:
    model: str
    current: str
    proposed: str
    checks: list[Check]
    summary: str
    commands: list[str] = field(default_factory=list)  # what would gather the missing evidence

    @property
    def changes(self) -> bool:
        return self.proposed != self.current

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "current": self.current,
            "proposed": self.proposed,
            "changes": self.changes,
            "summary": self.summary,
            "commands": self.commands,
            "checks": [c.as_dict() for c in self.checks],
        }


# --- the registry, read straight from the YAML (no weights, no composing) ------------------------


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        node = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return node if isinstance(node, dict) else {}


def model_registry(conf_dir: Path = CONF_DIR) -> dict[str, ModelEntry]:
    out = {}
    for path in sorted((conf_dir / "model").glob("*.yaml")):
        node = _load_yaml(path)
        info = node.get("info") or {}
        out[str(node.get("name", path.stem))] = ModelEntry(
            name=str(node.get("name", path.stem)),
            status=str(info.get("status", "experimental")),
            capabilities=[str(c) for c in (info.get("capabilities") or [])],
            path=path,
            languages=[str(lang) for lang in (info.get("languages") or [])],
        )
    return out


def dataset_catalog(conf_dir: Path = CONF_DIR) -> dict[str, DatasetInfo]:
    """Every dataset YAML (not the ``default_*`` aliases): name -> tasks, role and language."""
    out = {}
    for path in sorted((conf_dir / "dataset").glob("*.yaml")):
        node = _load_yaml(path)
        if "defaults" in node:
            continue
        name = str(node.get("name", path.stem))
        out[name] = DatasetInfo(
            name=name,
            tasks=[str(t) for t in node.get("tasks") or []],
            role=str(node.get("role", "")),
            language=str(node.get("language", "en")),  # the dataset schema's default
        )
    return out


def golden_datasets(conf_dir: Path = CONF_DIR) -> dict[str, list[str]]:
    """Task -> names of the golden datasets that declare it (every set with references, whatever its role)."""
    out: dict[str, list[str]] = {}
    for path in sorted((conf_dir / "dataset").glob("*.yaml")):
        node = _load_yaml(path)
        if "defaults" in node or node.get("kind") != "golden":
            continue
        for task in node.get("tasks") or []:
            out.setdefault(str(task), []).append(str(node.get("name", path.stem)))
    return out


def _task_names(conf_dir: Path) -> set[str]:
    return {p.stem for p in (conf_dir / "task").glob("*.yaml")}


# --- the policy's evidence section --------------------------------------------------------------


@dataclass
class EvidencePolicy:
    """``promotion.evidence`` of the policy: how much quality evidence a decision needs, per capability
    and language, and the quality sets a capability leaves out. A minimum of 0 asks for nothing."""

    min_samples: int = 0
    min_minutes: float = 0.0
    per_capability: dict[str, dict[str, float]] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)

    def minimum(self, capability: str) -> tuple[int, float]:
        over = self.per_capability.get(capability, {})
        return int(over.get("min_samples", self.min_samples)), float(over.get("min_minutes", self.min_minutes))

    def describe(self, capability: str) -> str:
        samples, minutes = self.minimum(capability)
        return f"min {samples} samples and {minutes:g} min"


_MINIMUM_KEYS = {"min_samples", "min_minutes"}


def _nonnegative(path: Path, where: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{path}: promotion.evidence{where} must be a number >= 0, got {value!r}")
    return float(value)


def evidence_policy(policy: Gate) -> EvidencePolicy:
    """Read and check ``promotion.evidence`` (absent: no minimum, nothing excluded)."""
    raw = policy.promotion.get("evidence") or {}
    path = policy.path
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: promotion.evidence must be a mapping, got {raw!r}")
    unknown = set(raw) - _MINIMUM_KEYS - {"per_capability", "exclude"}
    if unknown:
        raise ConfigError(f"{path}: promotion.evidence has unknown keys {sorted(unknown)}")
    out = EvidencePolicy(
        min_samples=int(_nonnegative(path, ".min_samples", raw.get("min_samples", 0))),
        min_minutes=_nonnegative(path, ".min_minutes", raw.get("min_minutes", 0)),
    )
    for cap, over in (raw.get("per_capability") or {}).items():
        if not isinstance(over, dict) or set(over) - _MINIMUM_KEYS:
            raise ConfigError(f"{path}: promotion.evidence.per_capability.{cap} takes only {sorted(_MINIMUM_KEYS)}")
        out.per_capability[str(cap)] = {k: _nonnegative(path, f".per_capability.{cap}.{k}", v) for k, v in over.items()}
    for cap, names in (raw.get("exclude") or {}).items():
        if not isinstance(names, list):
            raise ConfigError(f"{path}: promotion.evidence.exclude.{cap} must be a list of dataset names")
        out.exclude[str(cap)] = [str(n) for n in names]
    return out


def quality_datasets(policy: Gate | None = None, catalog: dict[str, DatasetInfo] | None = None) -> dict[str, list[str]]:
    """Task -> the quality datasets that are its promotion evidence (``role: quality``, less the policy's
    ``evidence.exclude``)."""
    catalog = catalog if catalog is not None else dataset_catalog()
    exclude = evidence_policy(policy).exclude if policy is not None else {}
    out: dict[str, list[str]] = {}
    for info in catalog.values():
        if info.role != "quality":
            continue
        for task in info.tasks:
            if info.name not in exclude.get(task, []):
                out.setdefault(task, []).append(info.name)
    return out


@cache
def dataset_availability(name: str) -> str:
    """'' when ``name`` is available here (built, or buildable offline: a run builds it), else why not —
    the availability ``python -m modellab datasets`` lists."""
    from modellab.config.registry import load_component

    try:
        ds = load_component("dataset", name)
    except Exception as exc:  # noqa: BLE001 - a dataset that does not even load is not available
        return f"not available here: {exc}"
    if ds.is_built():
        return ""
    if ds.needs_network:
        return f"not available here (downloads once: HF_HUB_OFFLINE=0 python -m modellab.datasets build {name})"
    if not ds.builder:
        return f"not available here (nothing at {ds.root})"
    return ""


# --- evidence ------------------------------------------------------------------------------------


RunIndex = dict[tuple[str, str, str, str], str]


def latest_index(con: Any) -> RunIndex:
    """(model, task, dataset, preprocessing) -> the latest complete run id, in one query."""
    if not has_runs(con):
        return {}
    found = rows(
        con.execute(
            "SELECT run_id, model, task, dataset, preprocessing, status, started_at FROM runs_raw ORDER BY run_id"
        )
    )
    setup = itemgetter("model", "task", "dataset", "preprocessing")
    return {setup(r): r["run_id"] for r in latest_complete(found, key=setup)}


def run_command(model: str, task: str, datasets: list[str]) -> str:
    """The one command that runs ``model`` on ``datasets`` for ``task``."""
    if len(datasets) == 1:
        return f"python -m modellab +model={model} task={task} dataset={datasets[0]}"
    return f"python -m modellab -m +model={model} task={task} dataset={','.join(datasets)}"


def _minutes(samples: Iterable[dict[str, Any]]) -> float:
    return sum(float(s.get("duration_s") or 0.0) for s in samples) / 60.0


def _f(value: float) -> str:
    return f"{value:+.4g}"


def rule_verdict(
    rule: GateRule, baseline: float, candidate: float, hib: bool, low: float | None, high: float | None, n: int
) -> tuple[str, str, Interval | None]:
    """Non-inferiority of one rule from the interval ``[low, high]`` of ``candidate - baseline``:
    pass when the whole interval of the worsening lies within the rule's margin, fail when it lies entirely
    beyond it, undecided otherwise. Without an interval only "no worse at all" passes."""
    margin = rule.allowance(baseline)
    word = "drop" if hib else "rise"
    delta = candidate - baseline
    if low is None or high is None:
        worsening = -delta if hib else delta
        if worsening <= _EPS:
            return PASS, f"{rule.metric} no worse ({baseline:.4g} -> {candidate:.4g}; no per-sample interval)", None
        return (
            UNDECIDED,
            f"{rule.metric} {word} {worsening:.4g} without a per-sample interval (margin {margin:.4g})",
            None,
        )
    worst, best = (-low, -high) if hib else (high, low)  # the worsening's interval: [best, worst]
    interval = Interval(rule.metric, delta, low, high, margin, n)
    shown = f"Δ {_f(delta)} [{_f(low)}, {_f(high)}], n={n}"
    if worst <= margin + _EPS:
        return PASS, f"{rule.metric} {shown} within margin {margin:.4g}", interval
    if best > margin + _EPS:
        return FAIL, f"{rule.metric} {word} {shown} entirely beyond margin {margin:.4g}", interval
    return UNDECIDED, f"{rule.metric} {shown} straddles margin {margin:.4g}", interval


def _aligned_rows(baseline: RunData, candidate: RunData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_id = {s["sample_id"]: s for s in candidate.samples}
    pairs = [(s, by_id[s["sample_id"]]) for s in baseline.samples if s["sample_id"] in by_id]
    return [b for b, _ in pairs], [c for _, c in pairs]


Pair = tuple[str, RunData, RunData]  # dataset, production run, candidate run


def _stacked(metric: str, pairs: list[Pair], side: int) -> Any:
    """The decomposition of ``metric`` over the paired samples of every pair (one side), or None."""
    import numpy as np

    from modellab.metrics.stats import Decomposition, decompose

    parts: list[Decomposition] = []
    for _, prod, cand in pairs:
        base_rows, cand_rows = _aligned_rows(prod, cand)
        run = (prod, cand)[side]
        rows_ = (base_rows, cand_rows)[side]
        full = len(base_rows) == len(prod.samples) == len(cand.samples)
        part = decompose(metric, rows_, run.row, run.metrics[metric] if full else None)
        if part is None or (parts and part.method != parts[0].method):
            return None
        parts.append(part)
    if not parts:
        return None
    return Decomposition(np.vstack([p.components for p in parts]), parts[0].statistic, parts[0].method)


def _rule_on_pool(
    rule: GateRule, pairs: list[Pair], resamples: int, seed: int
) -> tuple[str, str, Interval | None] | None:
    """One policy rule over the pooled paired samples (None: neither side has the metric)."""
    from modellab.metrics.stats import paired_bootstrap

    metric = rule.metric
    if not any(metric in prod.metrics for _, prod, _ in pairs):
        return None
    lacking = [ds for ds, prod, cand in pairs if metric in prod.metrics and metric not in cand.metrics]
    if lacking:
        return FAIL, f"{metric}: the candidate has no value on {', '.join(lacking)} (production does)", None
    used = [p for p in pairs if p[1].metrics.get(metric) is not None]
    hib = higher_is_better(rule.higher_is_better, *(r.higher_is_better.get(metric) for _, a, b in used for r in (a, b)))
    if hib is None:
        return None
    base_dec, cand_dec = _stacked(metric, used, 0), _stacked(metric, used, 1)
    if base_dec is not None and cand_dec is not None and base_dec.method == cand_dec.method:
        ci = paired_bootstrap(base_dec, cand_dec, resamples, seed, metric=metric)
        return rule_verdict(rule, base_dec.value(), cand_dec.value(), bool(hib), ci.low, ci.high, ci.n_paired)
    base = sum(p.metrics[metric] for _, p, _ in used) / len(used)
    cand = sum(c.metrics[metric] for _, _, c in used) / len(used)
    n = sum(len(_aligned_rows(p, c)[0]) for _, p, c in used)
    return rule_verdict(rule, base, cand, bool(hib), None, None, n)


@dataclass
class _Context:
    """What every check of one model's evaluation shares."""

    load: Callable[[str], RunData]
    index: RunIndex
    model: ModelEntry
    registry: dict[str, ModelEntry]
    policy: Gate
    evidence: EvidencePolicy
    regression_gate: Gate
    preprocessing: str
    min_rate: float
    versus: str
    resamples: int
    seed: int
    baselines_root: Path | None
    availability: Callable[[str], str]
    missing: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (model, task) -> datasets to run

    def latest(self, model: str, task: str, dataset: str) -> RunData | None:
        run_id = self.index.get((model, task, dataset, self.preprocessing))
        return self.load(run_id) if run_id else None

    def need(self, model: str, task: str, datasets: list[str]) -> str:
        wanted = self.missing.setdefault((model, task), [])
        wanted += [d for d in datasets if d not in wanted]
        return run_command(model, task, datasets)

    def enough(self, capability: str, n: int, minutes: float) -> bool:
        min_n, min_minutes = self.evidence.minimum(capability)
        return n >= min_n and minutes + 1e-9 >= min_minutes


def _run_checks(ctx: _Context, where: str, run: RunData, dataset: str) -> list[Check]:
    """A candidate's own run: complete, sanity gates, and its pinned baseline where there is one."""
    from modellab.analysis.baselines import find_pin, load_pin
    from modellab.analysis.compare import compare_runs

    ids, n, minutes = [run.run_id], len(run.samples), _minutes(run.samples)
    n_failed = int(run.metrics.get("n_failed", run.row.get("n_failed") or 0))
    complete = run.row.get("status") == "ok" and n_failed == 0
    checks = [
        Check(
            f"{where}: complete",
            PASS if complete else FAIL,
            f"status {run.row.get('status')}, {n_failed} failed of {run.row.get('n_samples')} samples",
            ids,
            n=n,
            minutes=minutes,
        )
    ]
    rate = run.metrics.get("gate_pass_rate")
    if rate is not None:
        status = PASS if rate >= ctx.min_rate else FAIL
        checks.append(
            Check(f"{where}: sanity gates", status, f"gate_pass_rate {rate:.3f} (min {ctx.min_rate:g})", ids, n=n)
        )
    pin = find_pin(ctx.model.name, dataset, run.hardware, ctx.preprocessing, ctx.baselines_root)
    if pin is not None:
        path, exact = pin
        gated = {r.metric for r in ctx.regression_gate.rules if r.significant}
        cmp = compare_runs(load_pin(path), run, ctx.resamples, ctx.seed, ctx.regression_gate, ci_metrics=gated)
        if not cmp.comparability.comparable:
            status, detail = (
                NOT_COMPARABLE,
                f"not comparable with pinned {cmp.baseline.run_id}: {cmp.comparability.reason()}",
            )
        else:
            scope = "" if exact else " (pin from other hardware: quality rules only)"
            failed = "; ".join(f"{r.metric} {r.reason}" for r in cmp.gate_results if r.failed)
            status = FAIL if cmp.gate_failed else PASS
            detail = failed or f"no regression vs pinned {cmp.baseline.run_id}{scope}"
        checks.append(Check(f"{where}: pinned baseline", status, detail, ids, n=cmp.n_paired))
    return checks


def _pooled_check(ctx: _Context, label: str, production: str, pairs: list[Pair], cap: str) -> Check:
    """Non-inferiority of the candidate against one production model over the samples both ran."""
    n = sum(len(_aligned_rows(p, c)[0]) for _, p, c in pairs)
    minutes = sum(_minutes(_aligned_rows(p, c)[1]) for _, p, c in pairs)
    verdicts = [v for rule in ctx.policy.rules if (v := _rule_on_pool(rule, pairs, ctx.resamples, ctx.seed))]
    ordered = [v for s in (FAIL, UNDECIDED, PASS) for v in verdicts if v[0] == s]
    sets = ", ".join(ds for ds, _, _ in pairs)
    detail = "; ".join(v[1] for v in ordered) or "no policy metric in both runs"
    detail += f" (on {sets}: {n} paired samples, {minutes:.1f} min)"
    if not ctx.enough(cap, n, minutes):
        status = UNDECIDED
        detail = f"{MORE_DATA}: below the minimum evidence ({ctx.evidence.describe(cap)}); " + detail
    elif any(v[0] == FAIL for v in verdicts):
        status = FAIL
    elif any(v[0] == UNDECIDED for v in verdicts) or not verdicts:
        status = UNDECIDED
    else:
        status = PASS
    ids = [p.run_id for _, p, _ in pairs] + [c.run_id for _, _, c in pairs]
    intervals = [v[2] for v in verdicts if v[2] is not None]
    return Check(f"{label}: vs production {production}", status, detail, ids, True, n, minutes, intervals)


def _primary_value(policy: Gate, pairs: list[Pair]) -> float | None:
    """The production side's mean of the first policy metric it has, signed so that larger is better."""
    for rule in policy.rules:
        prods = [p for _, p, _ in pairs]
        if all(rule.metric in p.metrics for p in prods):
            hib = higher_is_better(rule.higher_is_better, *(p.higher_is_better.get(rule.metric) for p in prods))
            if hib is not None:
                mean = sum(p.metrics[rule.metric] for p in prods) / len(prods)
                return mean if hib else -mean
    return None


def _versus_production(ctx: _Context, cap: str, lang: str, runs: dict[str, RunData]) -> list[Check]:
    label = f"{cap} [{lang}]"
    others = [
        m
        for m in ctx.registry.values()
        if m.status == "production"
        and cap in m.capabilities
        and m.name != ctx.model.name
        and (not m.languages or lang in m.languages)
    ]
    ids = [r.run_id for r in runs.values()]
    if not others:
        return [Check(f"{label}: vs production", PASS, f"no other production model for {cap} in '{lang}'", ids, True)]
    checks: list[Check] = []
    pooled: list[tuple[ModelEntry, list[Pair], list[str]]] = []
    for prod_model in others:
        pairs, unrun = [], []
        for ds, run in runs.items():
            prod = ctx.latest(prod_model.name, cap, ds)
            if prod is None:
                unrun.append(ds)
                continue
            comparability = check_comparable(prod, run)
            if not comparability.comparable:
                reason = f"not comparable: {comparability.reason()}"
                name = f"{cap} × {ds}: vs production {prod_model.name}"
                checks.append(Check(name, NOT_COMPARABLE, reason, [prod.run_id, run.run_id], True))
                continue
            pairs.append((ds, prod, run))
        pooled.append((prod_model, pairs, unrun))
    with_pairs = [p for p in pooled if p[1]]
    if ctx.versus == "best" and with_pairs:
        scored = [(v, p) for p in with_pairs if (v := _primary_value(ctx.policy, p[1])) is not None]
        with_pairs = [max(scored, key=lambda item: item[0])[1]] if scored else with_pairs[:1]
        pooled = with_pairs
    for prod_model, pairs, unrun in pooled:
        if pairs:
            check = _pooled_check(ctx, label, prod_model.name, pairs, cap)
        else:
            detail = f"no comparable run of production {prod_model.name} on {', '.join(runs)}: {MORE_DATA}"
            check = Check(f"{label}: vs production {prod_model.name}", UNDECIDED, detail, ids, True)
        if check.status == UNDECIDED and unrun:  # running production on the candidate's other sets adds evidence
            check.command = ctx.need(prod_model.name, cap, unrun)
        checks.append(check)
    return checks


def _group_checks(ctx: _Context, cap: str, lang: str, names: list[str]) -> list[Check]:
    """The checks of one capability in one language: each quality set's run, the amount of evidence and
    (for a candidate or production model) non-inferiority against production."""
    checks: list[Check] = []
    runs: dict[str, RunData] = {}
    missing: list[str] = []
    for ds in names:
        where = f"{cap} × {ds}"
        run = ctx.latest(ctx.model.name, cap, ds)
        if run is None:
            why = ctx.availability(ds)
            if why:
                checks.append(Check(f"{where}: run", SKIPPED, why))
                continue
            missing.append(ds)
            command = ctx.need(ctx.model.name, cap, [ds])
            detail = f"no complete run (preprocessing={ctx.preprocessing}): {MORE_DATA}; {command}"
            checks.append(Check(f"{where}: run", UNDECIDED, detail, command=command))
            continue
        runs[ds] = run
        checks += _run_checks(ctx, where, run, ds)
    label = f"{cap} [{lang}]"
    if not runs and not missing:
        detail = f"no quality set of {cap} in '{lang}' is available here: {MORE_DATA}"
        checks.append(Check(f"{label}: evidence", UNDECIDED, detail))
        return checks
    if not runs:
        return checks  # each missing run already says undecided, with its command
    n = sum(len(r.samples) for r in runs.values())
    minutes = sum(_minutes(r.samples) for r in runs.values())
    if any(ctx.evidence.minimum(cap)):
        enough = ctx.enough(cap, n, minutes)
        detail = f"{n} samples, {minutes:.1f} min on {', '.join(runs)} ({ctx.evidence.describe(cap)})"
        if not enough:
            more = "run the missing sets" if missing else f"add quality data for {cap} in '{lang}'"
            detail += f": {MORE_DATA} ({more})"
        ids = [r.run_id for r in runs.values()]
        checks.append(Check(f"{label}: evidence", PASS if enough else UNDECIDED, detail, ids, n=n, minutes=minutes))
    if ctx.model.status in ("candidate", "production"):
        checks += _versus_production(ctx, cap, lang, runs)
    return checks


def _by_language(model: ModelEntry, sets: list[str], catalog: dict[str, DatasetInfo]) -> dict[str, list[str]]:
    """The quality sets the model can be judged on, grouped by their language."""
    out: dict[str, list[str]] = {}
    for ds in sets:
        lang = catalog[ds].language if ds in catalog else "en"
        if not model.languages or lang in model.languages:
            out.setdefault(lang, []).append(ds)
    return out


def _decide(entry: ModelEntry, checks: list[Check]) -> tuple[str, str]:
    """The proposed status and the summary saying why."""
    judged = checks if entry.status != "experimental" else [c for c in checks if not c.for_production]
    fails = [c for c in judged if c.status == FAIL]
    open_ = [c for c in judged if c.status == UNDECIDED]
    passes = [c for c in judged if c.status == PASS]
    skipped = sum(c.status == SKIPPED for c in judged)
    apart = sum(c.status == NOT_COMPARABLE for c in judged)
    ok = bool(passes) and not fails and not open_
    nxt = {"experimental": "candidate", "candidate": "production", "production": "production"}[entry.status]
    skip_note = f"; {skipped} skipped (not available here)" if skipped else ""
    skip_note += f"; {apart} not comparable (no evidence either way)" if apart else ""
    if entry.status == "production":
        if fails:
            note = f"; note: {len(fails)} checks would fail today" + (f", {len(open_)} undecided" if open_ else "")
        elif open_:
            note = f"; note: {len(open_)} checks undecided — more data needed"
        else:
            note = "; every check still passes"
        return "production", "already production" + note + skip_note
    if ok:
        return nxt, f"promote {entry.status} -> {nxt}: all {len(passes)} checks pass{skip_note}"
    if fails:
        more = f", {len(open_)} undecided" if open_ else ""
        return entry.status, f"stays {entry.status}: {len(fails)} of {len(judged)} checks fail{more}{skip_note}"
    why = f"{len(open_)} of {len(judged)} checks undecided" if open_ else "no check passed"
    return entry.status, f"stays {entry.status}: {MORE_DATA} ({why}){skip_note}"


def evaluate_model(
    con: Any,
    model: str,
    policy: Gate | None = None,
    registry: dict[str, ModelEntry] | None = None,
    datasets: dict[str, list[str]] | None = None,
    tasks: set[str] | None = None,
    baselines_root: Path | None = None,
    resamples: int = 500,
    seed: int = 0,
    index: RunIndex | None = None,
    catalog: dict[str, DatasetInfo] | None = None,
    availability: Callable[[str], str] | None = None,
    loader: Callable[[str], RunData] | None = None,
) -> Proposal:
    """The next status ``model`` qualifies for, with every check behind it.

    ``datasets``: task -> its evidence sets (default: :func:`quality_datasets`); ``catalog``: their
    languages (default: :func:`dataset_catalog`); ``availability``: dataset -> '' when available here,
    else why not (default: :func:`dataset_availability`); ``loader``: run id -> its :class:`RunData`
    (default: from ``con``)."""
    policy = policy or load_gate("promotion")
    registry = registry if registry is not None else model_registry()
    catalog = catalog if catalog is not None else dataset_catalog()
    datasets = datasets if datasets is not None else quality_datasets(policy, catalog)
    tasks = tasks if tasks is not None else _task_names(CONF_DIR)
    if model not in registry:
        raise ConfigError(f"unknown model '{model}'; models: {', '.join(sorted(registry))}")
    entry = registry[model]
    if entry.status not in STATUSES:
        raise ConfigError(f"{entry.path}: info.status '{entry.status}' is not one of {STATUSES}")
    opts = policy.promotion
    versus = str(opts.get("versus_production", "best"))
    if versus not in ("best", "all"):
        raise ConfigError(f"{policy.path}: promotion.versus_production must be 'best' or 'all', got '{versus}'")
    ctx = _Context(
        load=loader or (lambda run_id: load_run(con, run_id)),
        index=index if index is not None else latest_index(con),
        model=entry,
        registry=registry,
        policy=policy,
        evidence=evidence_policy(policy),
        regression_gate=load_gate(str(opts.get("gate", "default"))),
        preprocessing=str(opts.get("preprocessing", "none")),
        min_rate=float(opts.get("min_gate_pass_rate", 1.0)),
        versus=versus,
        resamples=resamples,
        seed=seed,
        baselines_root=baselines_root,
        availability=availability or dataset_availability,
    )
    checks: list[Check] = []
    implemented = [c for c in entry.capabilities if c in tasks]
    if not implemented:
        checks.append(Check("capabilities", FAIL, f"none of {entry.capabilities} has a task in conf/task/"))
    for cap in implemented:
        sets = datasets.get(cap, [])
        groups = _by_language(entry, sets, catalog)
        if not groups:
            langs = f" in {entry.languages}" if sets and entry.languages else ""
            detail = f"no quality dataset (role: quality in conf/dataset/) declares task '{cap}'{langs}: {MORE_DATA}"
            checks.append(Check(f"{cap}: quality sets", UNDECIDED, detail))
        for lang, names in groups.items():
            checks += _group_checks(ctx, cap, lang, names)
    proposed, summary = _decide(entry, checks)
    commands = [run_command(m, task, sets) for (m, task), sets in ctx.missing.items() if sets]
    return Proposal(model, entry.status, proposed, checks, summary, commands)


# --- writing the status --------------------------------------------------------------------------

_INFO = re.compile(r"^info:\s*(#.*)?$")
_STATUS = re.compile(r"^(?P<indent>[ \t]+)status:(?P<space>[ \t]*)(?P<value>[^#\s]*)(?P<rest>.*)$")


def write_status(path: Path, status: str) -> None:
    """Set ``info.status`` in a model YAML, changing only that value (comments and order stay)."""
    if status not in STATUSES:
        raise ConfigError(f"status must be one of {STATUSES}, got '{status}'")
    text = path.read_text(encoding="utf-8")
    before = yaml.safe_load(text)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _INFO.match(line.rstrip("\r\n"))), None)
    if start is None:
        raise ConfigError(f"{path}: no top-level 'info:' block to write the status into")
    done = False
    indent = "  "
    for i in range(start + 1, len(lines)):
        line = lines[i].rstrip("\r\n")
        if line.strip() and not line[0].isspace():
            break  # the info block ended
        if line.strip() and not line.lstrip().startswith("#"):
            indent = line[: len(line) - len(line.lstrip())]
        m = _STATUS.match(line)
        if m and m["indent"] == indent:
            ending = lines[i][len(line) :]
            lines[i] = f"{m['indent']}status:{m['space'] or ' '}{status}{m['rest']}{ending}"
            done = True
            break
    if not done:
        newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
        lines.insert(start + 1, f"{indent}status: {status}{newline}")
    new_text = "".join(lines)
    after = yaml.safe_load(new_text)
    expected = json.loads(json.dumps(before))
    expected.setdefault("info", {})["status"] = status
    if after != expected:
        raise ConfigError(f"{path}: could not change info.status without touching anything else; edit it by hand")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)


# --- command line --------------------------------------------------------------------------------


_SHOWN = {PASS: "ok", FAIL: "FAIL", UNDECIDED: "undecided", SKIPPED: "skipped", NOT_COMPARABLE: "not comparable"}


def _print(proposal: Proposal) -> None:
    from tabulate import tabulate

    print(f"{proposal.model}: {proposal.summary}")
    rows_ = [[_SHOWN[c.status], c.name, c.detail, " ".join(c.run_ids)] for c in proposal.checks]
    if rows_:
        print(tabulate(rows_, headers=["", "check", "evidence", "runs"], tablefmt="github"))
    for command in proposal.commands:
        print(f"to gather the missing evidence: {command}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab promote", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", nargs="?", help="model name (conf/model/<name>.yaml)")
    parser.add_argument("--all", action="store_true", help="every model in the registry")
    parser.add_argument("--write", action="store_true", help="write the proposed status into the model YAML")
    parser.add_argument("--policy", default="promotion", help="policy gate file or name (default: promotion)")
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    args = parser.parse_args(argv)
    if not args.model and not args.all:
        parser.error("give a MODEL or --all")

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

    try:
        policy = load_gate(args.policy)
        registry = model_registry()
        con = connect(Path(args.results_dir) if args.results_dir else default_results_dir())
        names = sorted(registry) if args.all else [args.model]
        proposals = [evaluate_model(con, n, policy, registry, resamples=args.resamples) for n in names]
    except ConfigError as exc:
        print(f"modellab.analysis.promote: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([p.as_dict() for p in proposals], indent=1))
    else:
        for i, p in enumerate(proposals):
            if i:
                print()
            _print(p)
    if args.write:
        for p in proposals:
            if p.changes:
                write_status(registry[p.model].path, p.proposed)
                print(f"wrote info.status: {p.proposed} into {registry[p.model].path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
