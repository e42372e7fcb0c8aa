"""``python -m modellab promote MODEL [--write] [--policy promotion]`` (or ``--all``): propose a model's
next registry status from the results, show the evidence, and with ``--write`` set ``info.status`` in
``conf/model/<MODEL>.yaml`` (only that value changes; comments and layout stay).

A model moves one step at a time, experimental -> candidate -> production, by the rules in
``conf/gates/promotion.yaml``:

* experimental -> candidate: for every capability with a task (``conf/task/<cap>.yaml``), a complete,
  failure-free run (``preprocessing: none``) on every golden dataset of that task; sanity gates
  passing (``gate_pass_rate >= min_gate_pass_rate``); and the regression gate (``promotion.gate``)
  passing against the model's pinned baselines where there are any.
* candidate -> production: all of the above, plus no regression beyond the policy's rules against
  the current production model of that task on each golden set (``versus_production: best``: the
  production model with the best value of the first rule metric; ``all``: every production model).

Production models are never demoted automatically; when they no longer qualify, it is said.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import yaml

from modellab.analysis.gates import Gate, load_gate
from modellab.analysis.rundata import RunData, has_runs, load_run, rows
from modellab.config import CONF_DIR, ConfigError
from modellab.metrics.direction import higher_is_better
from modellab.results.latest import latest_complete

__all__ = [
    "Check",
    "ModelEntry",
    "Proposal",
    "STATUSES",
    "evaluate_model",
    "golden_datasets",
    "latest_index",
    "main",
    "model_registry",
    "write_status",
]

STATUSES = ("experimental", "candidate", "production")


@dataclass
class ModelEntry:
    name: str
    status: str
    capabilities: list[str]
    path: Path


@dataclass
class Check:
    """One piece of evidence: what was checked, whether it held, and the runs behind it."""

    name: str
    passed: bool
    detail: str
    run_ids: list[str] = field(default_factory=list)
    for_production: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Proposal:
    model: str
    current: str
    proposed: str
    checks: list[Check]
    summary: str

    @property
    def changes(self) -> bool:
        return self.proposed != self.current

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "current": self.current,
            "proposed": self.proposed,
            "changes": self.changes,
            "summary": self.summary,
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
        )
    return out


def golden_datasets(conf_dir: Path = CONF_DIR) -> dict[str, list[str]]:
    """Task -> names of the golden datasets that declare it."""
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


def _latest(con: Any, index: RunIndex, model: str, task: str, dataset: str, preprocessing: str) -> RunData | None:
    run_id = index.get((model, task, dataset, preprocessing))
    return load_run(con, run_id) if run_id else None


def _primary(policy: Gate, runs: list[RunData]) -> tuple[str, bool] | None:
    """The first policy metric every run has, with its direction."""
    for rule in policy.rules:
        if all(rule.metric in r.metrics for r in runs):
            hib = higher_is_better(rule.higher_is_better, *(r.higher_is_better.get(rule.metric) for r in runs))
            if hib is not None:
                return rule.metric, bool(hib)
    return None


def _failed_rules(comparison: Any) -> str:
    return "; ".join(f"{r.metric} {r.reason}" for r in comparison.gate_results if r.failed)


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
) -> Proposal:
    """The next status ``model`` qualifies for, with every check behind it."""
    from modellab.analysis.baselines import find_pin, load_pin
    from modellab.analysis.compare import compare_runs

    policy = policy or load_gate("promotion")
    registry = registry if registry is not None else model_registry()
    datasets = datasets if datasets is not None else golden_datasets()
    tasks = tasks if tasks is not None else _task_names(CONF_DIR)
    if model not in registry:
        raise ConfigError(f"unknown model '{model}'; models: {', '.join(sorted(registry))}")
    entry = registry[model]
    if entry.status not in STATUSES:
        raise ConfigError(f"{entry.path}: info.status '{entry.status}' is not one of {STATUSES}")
    opts = policy.promotion
    min_rate = float(opts.get("min_gate_pass_rate", 1.0))
    preprocessing = str(opts.get("preprocessing", "none"))
    versus = str(opts.get("versus_production", "best"))
    if versus not in ("best", "all"):
        raise ConfigError(f"{policy.path}: promotion.versus_production must be 'best' or 'all', got '{versus}'")
    regression_gate = load_gate(str(opts.get("gate", "default")))
    index = index if index is not None else latest_index(con)
    gated = {r.metric for r in [*regression_gate.rules, *policy.rules] if r.significant}
    wants_production = entry.status in ("candidate", "production")

    checks: list[Check] = []
    implemented = [c for c in entry.capabilities if c in tasks]
    if not implemented:
        checks.append(Check("capabilities", False, f"none of {entry.capabilities} has a task in conf/task/"))
    for cap in entry.capabilities:
        if cap not in tasks:
            continue
        sets = datasets.get(cap, [])
        if not sets:
            checks.append(Check(f"{cap}: golden sets", False, f"no golden dataset declares task '{cap}'"))
        for ds in sets:
            where = f"{cap} × {ds}"
            run = _latest(con, index, model, cap, ds, preprocessing)
            if run is None:
                hint = f"python -m modellab +model={model} task={cap} dataset={ds}"
                checks.append(Check(f"{where}: run", False, f"no complete run (preprocessing={preprocessing}); {hint}"))
                continue
            ids = [run.run_id]
            n_failed = int(run.metrics.get("n_failed", run.row.get("n_failed") or 0))
            checks.append(
                Check(
                    f"{where}: complete",
                    run.row.get("status") == "ok" and n_failed == 0,
                    f"status {run.row.get('status')}, {n_failed} failed of {run.row.get('n_samples')} samples",
                    ids,
                )
            )
            rate = run.metrics.get("gate_pass_rate")
            if rate is not None:
                checks.append(
                    Check(
                        f"{where}: sanity gates", rate >= min_rate, f"gate_pass_rate {rate:.3f} (min {min_rate:g})", ids
                    )
                )
            pin = find_pin(model, ds, run.hardware, preprocessing, baselines_root)
            if pin is not None:
                path, exact = pin
                cmp = compare_runs(load_pin(path), run, resamples, seed, regression_gate, ci_metrics=gated)
                scope = "" if exact else " (pin from other hardware: quality rules only)"
                detail = _failed_rules(cmp) or f"no regression vs pinned {cmp.baseline.run_id}{scope}"
                checks.append(Check(f"{where}: pinned baseline", not cmp.gate_failed, detail, ids))
            if not wants_production:
                continue
            others = [
                m for m in registry.values() if m.status == "production" and cap in m.capabilities and m.name != model
            ]
            prod_runs = [
                r for r in (_latest(con, index, m.name, cap, ds, preprocessing) for m in others) if r is not None
            ]
            if not others:
                checks.append(Check(f"{where}: vs production", True, f"no other production model for {cap}", ids, True))
                continue
            if not prod_runs:
                names = ", ".join(m.name for m in others)
                checks.append(Check(f"{where}: vs production", False, f"no run of production {names} here", ids, True))
                continue
            if versus == "best":
                primary = _primary(policy, [run, *prod_runs])
                if primary is not None:
                    metric, hib = primary
                    prod_runs = [sorted(prod_runs, key=lambda r: r.metrics[metric], reverse=hib)[0]]
            for prod in prod_runs:
                cmp = compare_runs(prod, run, resamples, seed, policy, ci_metrics=gated)
                detail = _failed_rules(cmp) or "no regression beyond " + ", ".join(
                    f"{r.metric} {r.describe()}" for r in policy.rules
                )
                checks.append(
                    Check(
                        f"{where}: vs production {prod.model}",
                        not cmp.gate_failed,
                        detail,
                        [prod.run_id, run.run_id],
                        True,
                    )
                )

    base_ok = bool(checks) and all(c.passed for c in checks if not c.for_production)
    prod_ok = base_ok and all(c.passed for c in checks if c.for_production)
    failing = [c for c in checks if not c.passed]
    if entry.status == "experimental":
        proposed = "candidate" if base_ok else "experimental"
    elif entry.status == "candidate":
        proposed = "production" if prod_ok else "candidate"
    else:
        proposed = "production"
    if proposed != entry.status:
        summary = f"promote {entry.status} -> {proposed}: all {len(checks)} checks pass"
    elif entry.status == "production":
        summary = "already production" + (
            f"; note: {len(failing)} checks would fail today" if failing else "; every check still passes"
        )
    else:
        summary = f"stays {entry.status}: {len(failing)} of {len(checks)} checks fail"
    return Proposal(model, entry.status, proposed, checks, summary)


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


def _print(proposal: Proposal) -> None:
    from tabulate import tabulate

    print(f"{proposal.model}: {proposal.summary}")
    rows_ = [["ok" if c.passed else "FAIL", c.name, c.detail, " ".join(c.run_ids)] for c in proposal.checks]
    if rows_:
        print(tabulate(rows_, headers=["", "check", "evidence", "runs"], tablefmt="github"))


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
