"""Evidence-backed recommendations per use case (conf/findings/*.yaml), as JSON and as site pages.

``python -m modellab findings [--config conf/findings/default.yaml] [--json] [--results-dir DIR]``

For each use case the latest complete run of every model on each matching dataset counts; models
missing a dataset or failing a requirement are listed with the reason; the winner is the best
mean of ``rank_by`` over the datasets. Every claim carries its run ids and numbers (with 95%
bootstrap intervals where the metric decomposes over samples) and, against the runner-up, the
paired-bootstrap difference per dataset. A use case without qualifying evidence says so.

This module produces data (:class:`Finding`, :meth:`Finding.as_dict` for JSON); the site renders
it (``findings.html``, ``findings.json`` and ``candidates.html``, alone: ``python -m modellab site
--page findings --out DIR``).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from modellab.analysis.rundata import RunData, has_runs, load_run, rows
from modellab.config import CONF_DIR, ConfigError
from modellab.config.schema import check_mapping
from modellab.metrics.direction import higher_is_better
from modellab.results.latest import latest_complete

__all__ = [
    "Finding",
    "ModelEvidence",
    "UseCase",
    "evaluate_findings",
    "load_use_cases",
    "main",
    "shared_datasets",
]

FINDINGS_DIR = CONF_DIR / "findings"
PAGE_COMMAND = "python -m modellab site --page findings --out DIR"  # the findings pages are the site's
_KEYS = {"id", "title", "task", "datasets", "where", "require", "rank_by", "description"}


@dataclass
class UseCase:
    id: str
    title: str
    task: str
    rank_by: str
    datasets: list[str] = field(default_factory=lambda: ["*"])
    where: dict[str, Any] = field(default_factory=dict)
    require: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""

    def criteria(self) -> str:
        parts = [f"task {self.task}", f"datasets {', '.join(self.datasets)}"]
        parts += [f"{k} = {v}" for k, v in self.where.items()]
        for metric, bound in self.require.items():
            parts += [f"{metric} ≥ {bound['min']:g}"] if "min" in bound else []
            parts += [f"{metric} ≤ {bound['max']:g}"] if "max" in bound else []
        return "; ".join(parts) + f"; ranked by {self.rank_by}"


@dataclass
class ModelEvidence:
    """One model's runs for a use case, and whether they qualify."""

    model: str
    runs: list[dict[str, Any]]
    score: float | None
    qualifies: bool
    why_not: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Finding:
    use_case: UseCase
    status: str  # recommendation | tied | single | no_evidence
    reason: str
    datasets: list[str]
    higher_is_better: bool | None
    ranking: list[ModelEvidence]
    versus_runner_up: list[dict[str, Any]] = field(default_factory=list)
    evidence: str = ""  # how much data the leader's claim rests on (n samples, minutes, datasets)

    @property
    def winner(self) -> ModelEvidence | None:
        return self.ranking[0] if self.status == "recommendation" else None

    def as_dict(self) -> dict[str, Any]:
        uc = self.use_case
        return {
            "id": uc.id,
            "title": uc.title,
            "criteria": uc.criteria(),
            "status": self.status,
            "reason": self.reason,
            "metric": uc.rank_by,
            "higher_is_better": self.higher_is_better,
            "datasets": self.datasets,
            "evidence": self.evidence,
            "recommendation": self.winner.as_dict() if self.winner else None,
            "versus_runner_up": self.versus_runner_up,
            "ranking": [m.as_dict() for m in self.ranking],
        }


# --- config --------------------------------------------------------------------------------------


def load_use_cases(path: str | Path | None = None) -> list[UseCase]:
    """Use cases from one YAML file, or from every file in conf/findings/ (``path`` None)."""
    files = [Path(path)] if path else sorted(FINDINGS_DIR.glob("*.yaml"))
    out: list[UseCase] = []
    seen: set[str] = set()
    for file in files:
        try:
            raw = OmegaConf.to_container(OmegaConf.load(file), resolve=True)
        except (OSError, OmegaConfBaseException) as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        cases = raw.get("use_cases") if isinstance(raw, dict) else None
        if not isinstance(cases, list):
            raise ConfigError(f"{file}: needs a 'use_cases' list")
        for i, case in enumerate(cases):
            where = f"{file}: use_cases[{i}]"
            case = check_mapping(case, where, _KEYS, ("id", "title", "task", "rank_by"))
            if case["id"] in seen:
                raise ConfigError(f"{where}: duplicate id '{case['id']}'")
            seen.add(case["id"])
            require = case.get("require") or {}
            for metric, bound in require.items():
                if not isinstance(bound, dict) or not bound or set(bound) - {"min", "max"}:
                    raise ConfigError(f"{where}: require.{metric} must be {{min: x}} and/or {{max: x}}, got {bound!r}")
            datasets = case.get("datasets") or ["*"]
            out.append(
                UseCase(
                    id=str(case["id"]),
                    title=str(case["title"]),
                    task=str(case["task"]),
                    rank_by=str(case["rank_by"]),
                    datasets=[str(d) for d in (datasets if isinstance(datasets, list) else [datasets])],
                    where={"preprocessing": "none", **(case.get("where") or {})},
                    require={m: {k: float(v) for k, v in b.items()} for m, b in require.items()},
                    description=str(case.get("description", "")),
                )
            )
    return out


# --- evaluation ----------------------------------------------------------------------------------


def _latest_runs(con: Any, uc: UseCase) -> list[dict[str, Any]]:
    """The latest complete run of each model on each dataset of the use case, by model and dataset."""
    if not has_runs(con):
        return []
    columns = {r[0] for r in con.execute("DESCRIBE runs").fetchall()}
    unknown = [k for k in uc.where if k not in columns]
    if unknown:
        return []  # e.g. a column no run has yet: nothing can match
    clauses = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in uc.where) or "true"
    sql = f"SELECT * FROM runs WHERE task = ? AND {clauses} ORDER BY run_id"
    found = rows(con.execute(sql, [uc.task, *[str(v) for v in uc.where.values()]]))
    latest = latest_complete(found, key=itemgetter("model", "dataset"))
    matching = [r for r in latest if any(fnmatch.fnmatchcase(str(r["dataset"]), p) for p in uc.datasets)]
    return sorted(matching, key=itemgetter("model", "dataset"))


def _value(run: dict[str, Any], metric: str) -> float | None:
    value = run.get(metric)
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _direction(con: Any, metric: str, run_ids: list[str]) -> bool | None:
    if not run_ids:
        return None
    marks = ", ".join("?" for _ in run_ids)
    flags = con.execute(
        f"SELECT higher_is_better FROM metrics WHERE name = ? AND run_id IN ({marks})", [metric, *run_ids]
    ).fetchall()
    return higher_is_better(*(flag for (flag,) in flags))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def shared_datasets(datasets_by_model: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """The datasets every ranked model has a run on, and the models left out so that some remain.

    A ranking compares models only on the same data: while the models share no dataset, the one
    with the fewest datasets (ties: the last by name) is left out. Returns (shared datasets, left-out models).
    """
    kept = dict(sorted(datasets_by_model.items()))
    left_out: list[str] = []
    while kept:
        shared = set.intersection(*kept.values())
        if shared or len(kept) == 1:
            return sorted(shared), left_out
        fewest = min(len(v) for v in kept.values())
        drop = [m for m, v in kept.items() if len(v) == fewest][-1]
        left_out.append(drop)
        del kept[drop]
    return [], left_out


def evaluate_findings(
    con: Any, use_cases: list[UseCase] | None = None, resamples: int = 500, seed: int = 0
) -> list[Finding]:
    """One finding per use case, from a :func:`modellab.results.views.connect` connection.

    Models are ranked by the mean of ``rank_by`` over the datasets they all ran on
    (:func:`shared_datasets`); the leader is a recommendation only when it is better than the
    runner-up with a paired interval that excludes zero on some shared dataset and worse on none;
    otherwise the finding says "tied" (or "single" when only one model qualifies: nothing to compare).
    """
    return [_evaluate(con, uc, resamples, seed) for uc in (use_cases if use_cases is not None else load_use_cases())]


def _evaluate(con: Any, uc: UseCase, resamples: int, seed: int) -> Finding:
    runs = _latest_runs(con, uc)
    hib = _direction(con, uc.rank_by, [str(r["run_id"]) for r in runs])
    if not runs:
        return Finding(uc, "no_evidence", f"no complete {uc.task} runs match ({uc.criteria()})", [], hib, [])
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_model.setdefault(str(r["model"]), []).append(r)
    shared, left_out = shared_datasets({m: {str(r["dataset"]) for r in rs} for m, rs in by_model.items()})
    ranking = [
        _evidence(con, uc, model, model_runs, shared, model in left_out, resamples, seed)
        for model, model_runs in sorted(by_model.items())
    ]

    def order(m: ModelEvidence) -> tuple[int, float]:
        if m.score is None:
            return (2, 0.0)
        return (0 if m.qualifies else 1, -m.score if hib else m.score)

    ranking.sort(key=order)
    qualifying = [m for m in ranking if m.qualifies and m.score is not None]
    if hib is None:
        return Finding(uc, "no_evidence", f"no run records a direction for '{uc.rank_by}'", shared, hib, ranking)
    if not qualifying:
        best = next((m for m in ranking if m.score is not None), None)
        closest = f"; closest: {best.model} ({best.why_not})" if best else ""
        reason = f"no model qualifies among {len(ranking)} with runs{closest}"
        return Finding(uc, "no_evidence", reason, shared, hib, ranking)
    win = qualifying[0]
    evidence = _evidence_text(win, shared)
    if len(qualifying) == 1:
        reason = f"only {win.model} qualifies ({evidence}): nothing to compare it with, so no recommendation"
        return Finding(uc, "single", reason, shared, hib, ranking, evidence=evidence)
    versus = _versus(con, uc.rank_by, win, qualifying[1], resamples, seed, shared)
    finding = Finding(uc, "tied", "", shared, hib, ranking, versus, evidence)
    wins, losses = _separated(versus, hib)
    if wins and not losses:
        finding.status = "recommendation"
        finding.reason = (
            f"{win.model}: mean {uc.rank_by} {_fmt(win.score)} over {len(shared)} shared dataset(s) ({evidence}); "
            f"better than {qualifying[1].model} with a paired interval excluding zero on {wins} of {len(versus)}"
        )
    else:
        finding.reason = (
            f"{win.model} and {qualifying[1].model} cannot be separated: the paired interval of the difference "
            f"excludes zero in {win.model}'s favour on {wins} and against it on {losses} of {len(versus)} shared "
            f"dataset(s) ({evidence})"
        )
    return finding


def _evidence(
    con: Any,
    uc: UseCase,
    model: str,
    model_runs: list[dict[str, Any]],
    shared: list[str],
    left_out: bool,
    resamples: int,
    seed: int,
) -> ModelEvidence:
    """One model's runs (with n, minutes and the interval of ``rank_by``), its score over ``shared``."""
    from modellab.metrics.stats import bootstrap_ci

    shown, problems = [], []
    for r in model_runs:
        entry: dict[str, Any] = {
            "run_id": r["run_id"],
            "dataset": r["dataset"],
            "shared": str(r["dataset"]) in shared,
            "n": int(r.get("n_samples") or 0) - int(r.get("n_failed") or 0),
            "minutes": (_value(r, "audio_s") or 0.0) / 60,
            uc.rank_by: _value(r, uc.rank_by),
            **{m: _value(r, m) for m in uc.require},
        }
        if entry[uc.rank_by] is not None:
            ci = bootstrap_ci(con, str(r["run_id"]), uc.rank_by, resamples, seed)
            entry["ci95"] = [ci.low, ci.high] if ci else None
        shown.append(entry)
        if entry["shared"]:
            problems += _requirement_problems(uc, entry)
    if left_out:
        problems.append(f"no run on the datasets the other models share ({', '.join(shared)})")
    values = [e[uc.rank_by] for e in shown if e["shared"] and e[uc.rank_by] is not None]
    score = sum(values) / len(values) if values and len(values) == len(shared) else None
    return ModelEvidence(model, shown, score, not problems, "; ".join(problems))


def _requirement_problems(uc: UseCase, entry: dict[str, Any]) -> list[str]:
    problems = []
    if entry[uc.rank_by] is None:
        problems.append(f"no {uc.rank_by} on {entry['dataset']}")
    for metric, bound in uc.require.items():
        v = entry[metric]
        if v is None:
            problems.append(f"no {metric} on {entry['dataset']}")
        elif "min" in bound and v < bound["min"]:
            problems.append(f"{metric} {_fmt(v)} < {bound['min']:g} on {entry['dataset']}")
        elif "max" in bound and v > bound["max"]:
            problems.append(f"{metric} {_fmt(v)} > {bound['max']:g} on {entry['dataset']}")
    return problems


def _evidence_text(model: ModelEvidence, shared: list[str]) -> str:
    """``n=45 samples, 2.0 min on 3 dataset(s)``: how much data a claim rests on."""
    entries = [e for e in model.runs if e["shared"]]
    n = sum(e["n"] for e in entries)
    minutes = sum(e["minutes"] for e in entries)
    return f"n={n} samples, {minutes:.1f} min on {len(shared)} dataset(s)"


def _separated(versus: list[dict[str, Any]], hib: bool | None) -> tuple[int, int]:
    """(datasets where the winner is significantly better, where it is significantly worse)."""
    sign = 1.0 if hib else -1.0
    better = sum(bool(v["significant"]) and v["delta"] * sign > 0 for v in versus)
    worse = sum(bool(v["significant"]) and v["delta"] * sign < 0 for v in versus)
    return better, worse


def _versus(
    con: Any,
    metric: str,
    win: ModelEvidence,
    other: ModelEvidence,
    resamples: int,
    seed: int,
    shared: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Per shared dataset: the winner minus the runner-up, with a paired-bootstrap 95% interval."""
    from modellab.analysis.compare import compare_runs

    theirs = {e["dataset"]: e for e in other.runs}
    out = []
    for entry in win.runs:
        mine = theirs.get(entry["dataset"])
        if mine is None or (shared is not None and entry["dataset"] not in shared):
            continue
        base: RunData = load_run(con, str(mine["run_id"]))
        cand: RunData = load_run(con, str(entry["run_id"]))
        md = compare_runs(base, cand, resamples, seed, ci_metrics={metric}).metric(metric)
        out.append(
            {
                "dataset": entry["dataset"],
                "runner_up": other.model,
                "runner_up_run_id": mine["run_id"],
                "run_id": entry["run_id"],
                "delta": md.delta if md else None,
                "ci95": [md.ci.low, md.ci.high] if md and md.ci else None,
                "n_paired": md.ci.n_paired if md and md.ci else None,
                "significant": bool(md.ci.significant) if md and md.ci else None,
            }
        )
    return out


# --- command line --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab findings", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="one findings YAML (default: every file in conf/findings/)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--site", help=f"moved to the site: {PAGE_COMMAND}")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    args = parser.parse_args(argv)

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

    if args.site:
        command = PAGE_COMMAND.replace("DIR", args.site)
        print(f"modellab.analysis.findings: the findings pages are written by the site now: {command}", file=sys.stderr)
        return 2
    try:
        con = connect(Path(args.results_dir) if args.results_dir else default_results_dir())
        findings = evaluate_findings(con, load_use_cases(args.config), args.resamples)
    except ConfigError as exc:
        print(f"modellab.analysis.findings: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=1, default=str))
    else:
        for f in findings:
            mark = {"recommendation": "✔", "tied": "≈", "single": "1"}.get(f.status, "∅")
            print(f"{mark} {f.use_case.title}: {f.reason}")
            for m in f.ranking[:5]:
                runs = ", ".join(f"{e['dataset']} {_fmt(e[f.use_case.rank_by])} ({e['run_id']})" for e in m.runs)
                print(f"    {m.model:<24} mean {_fmt(m.score):<8} {'ok ' if m.qualifies else 'no '} {runs}")
                if m.why_not:
                    print(f"    {'':<24} why not: {m.why_not}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
