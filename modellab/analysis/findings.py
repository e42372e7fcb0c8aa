"""Evidence-backed recommendations per use case (conf/findings/*.yaml), as JSON and as site pages.

``python -m modellab findings [--config conf/findings/default.yaml] [--json] [--results-dir DIR]``

For each use case the latest complete run of every model on each matching dataset counts; models
missing a dataset or failing a requirement are listed with the reason; the winner is the best
mean of ``rank_by`` over the datasets. Every claim carries its run ids and numbers (with 95%
bootstrap intervals where the metric decomposes over samples) and, against the runner-up, the
paired-bootstrap difference per dataset. A use case without qualifying evidence says so.

:func:`render_findings_page` writes ``findings.html``, ``findings.json`` and ``candidates.html``
(the promotion proposals of every model) into a site folder; the site calls it when importable.
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from modellab.analysis.rundata import RunData, has_runs, load_run, rows
from modellab.config import CONF_DIR, ConfigError

__all__ = [
    "Finding",
    "ModelEvidence",
    "UseCase",
    "evaluate_findings",
    "load_use_cases",
    "main",
    "render_candidates_page",
    "render_findings_page",
]

FINDINGS_DIR = CONF_DIR / "findings"
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
    status: str  # recommendation | no_evidence
    reason: str
    datasets: list[str]
    higher_is_better: bool | None
    ranking: list[ModelEvidence]
    versus_runner_up: list[dict[str, Any]] = field(default_factory=list)

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
            if not isinstance(case, dict):
                raise ConfigError(f"{where} must be a mapping")
            unknown = set(case) - _KEYS
            if unknown:
                raise ConfigError(f"{where} has unknown keys {sorted(unknown)} (valid: {sorted(_KEYS)})")
            missing = [k for k in ("id", "title", "task", "rank_by") if not case.get(k)]
            if missing:
                raise ConfigError(f"{where} misses {missing}")
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
    if not has_runs(con):
        return []
    columns = {r[0] for r in con.execute("DESCRIBE runs").fetchall()}
    unknown = [k for k in uc.where if k not in columns]
    if unknown:
        return []  # e.g. a column no run has yet: nothing can match
    clauses = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in uc.where) or "true"
    sql = (
        "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY model, dataset ORDER BY started_at DESC) AS k_ "
        f"FROM runs WHERE task = ? AND status IN ('ok', 'partial') AND {clauses}) WHERE k_ = 1 ORDER BY model, dataset"
    )
    found = rows(con.execute(sql, [uc.task, *[str(v) for v in uc.where.values()]]))
    return [r for r in found if any(fnmatch.fnmatchcase(str(r["dataset"]), p) for p in uc.datasets)]


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
    found = con.execute(
        f"SELECT higher_is_better FROM metrics WHERE name = ? AND run_id IN ({marks}) AND higher_is_better IS NOT NULL "
        "LIMIT 1",
        [metric, *run_ids],
    ).fetchone()
    return None if found is None else bool(found[0])


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def evaluate_findings(
    con: Any, use_cases: list[UseCase] | None = None, resamples: int = 500, seed: int = 0
) -> list[Finding]:
    """One finding per use case, from a :func:`modellab.results.views.connect` connection."""
    from modellab.metrics.stats import bootstrap_ci

    findings = []
    for uc in use_cases if use_cases is not None else load_use_cases():
        runs = _latest_runs(con, uc)
        datasets = sorted({str(r["dataset"]) for r in runs})
        hib = _direction(con, uc.rank_by, [str(r["run_id"]) for r in runs])
        if not runs:
            findings.append(
                Finding(uc, "no_evidence", f"no complete {uc.task} runs match ({uc.criteria()})", [], hib, [])
            )
            continue
        by_model: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            by_model.setdefault(str(r["model"]), []).append(r)
        ranking: list[ModelEvidence] = []
        for model, model_runs in sorted(by_model.items()):
            shown = []
            problems: list[str] = []
            for r in model_runs:
                entry: dict[str, Any] = {
                    "run_id": r["run_id"],
                    "dataset": r["dataset"],
                    uc.rank_by: _value(r, uc.rank_by),
                    **{m: _value(r, m) for m in uc.require},
                }
                if entry[uc.rank_by] is not None:
                    ci = bootstrap_ci(con, str(r["run_id"]), uc.rank_by, resamples, seed)
                    entry["ci95"] = [ci.low, ci.high] if ci else None
                shown.append(entry)
                if entry[uc.rank_by] is None:
                    problems.append(f"no {uc.rank_by} on {r['dataset']}")
                for metric, bound in uc.require.items():
                    v = entry[metric]
                    if v is None:
                        problems.append(f"no {metric} on {r['dataset']}")
                    elif "min" in bound and v < bound["min"]:
                        problems.append(f"{metric} {_fmt(v)} < {bound['min']:g} on {r['dataset']}")
                    elif "max" in bound and v > bound["max"]:
                        problems.append(f"{metric} {_fmt(v)} > {bound['max']:g} on {r['dataset']}")
            missing = [d for d in datasets if d not in {str(r["dataset"]) for r in model_runs}]
            if missing:
                problems.append(f"no run on {', '.join(missing)}")
            values = [e[uc.rank_by] for e in shown if e[uc.rank_by] is not None]
            score = sum(values) / len(values) if values and len(values) == len(shown) else None
            ranking.append(ModelEvidence(model, shown, score, not problems, "; ".join(problems)))

        def order(m: ModelEvidence) -> tuple[int, float]:
            if m.score is None:
                return (2, 0.0)
            return (0 if m.qualifies else 1, -m.score if hib else m.score)

        ranking.sort(key=order)
        qualifying = [m for m in ranking if m.qualifies and m.score is not None]
        if hib is None:
            finding = Finding(
                uc, "no_evidence", f"no run records a direction for '{uc.rank_by}'", datasets, hib, ranking
            )
        elif not qualifying:
            best = next((m for m in ranking if m.score is not None), None)
            closest = f"; closest: {best.model} ({best.why_not})" if best else ""
            finding = Finding(
                uc,
                "no_evidence",
                f"no model qualifies among {len(ranking)} with runs{closest}",
                datasets,
                hib,
                ranking,
            )
        else:
            win = qualifying[0]
            reason = f"{win.model}: mean {uc.rank_by} {_fmt(win.score)} over {len(datasets)} dataset(s)"
            finding = Finding(uc, "recommendation", reason, datasets, hib, ranking)
            if len(qualifying) > 1:
                finding.versus_runner_up = _versus(con, uc.rank_by, win, qualifying[1], resamples, seed)
        findings.append(finding)
    return findings


def _versus(
    con: Any, metric: str, win: ModelEvidence, other: ModelEvidence, resamples: int, seed: int
) -> list[dict[str, Any]]:
    """Per dataset: the winner minus the runner-up, with a paired-bootstrap 95% interval."""
    from modellab.analysis.compare import compare_runs

    theirs = {e["dataset"]: e["run_id"] for e in other.runs}
    out = []
    for entry in win.runs:
        other_id = theirs.get(entry["dataset"])
        if other_id is None:
            continue
        base: RunData = load_run(con, str(other_id))
        cand: RunData = load_run(con, str(entry["run_id"]))
        md = compare_runs(base, cand, resamples, seed, ci_metrics={metric}).metric(metric)
        out.append(
            {
                "dataset": entry["dataset"],
                "runner_up": other.model,
                "runner_up_run_id": other_id,
                "run_id": entry["run_id"],
                "delta": md.delta if md else None,
                "ci95": [md.ci.low, md.ci.high] if md and md.ci else None,
                "significant": bool(md.ci.significant) if md and md.ci else None,
            }
        )
    return out


# --- pages ---------------------------------------------------------------------------------------


def _run_href(run_id: str) -> str:
    try:
        from modellab.site.shaping import run_page

        return run_page(run_id)
    except Exception:  # noqa: BLE001 - the site is optional
        return f"runs/{run_id}.html"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _run_link(run_id: Any) -> str:
    return f'<a href="{_e(_run_href(str(run_id)))}"><code>{_e(run_id)}</code></a>'


def _ci(ci: Any) -> str:
    return f' <span class="muted">[{_fmt(ci[0])}, {_fmt(ci[1])}]</span>' if ci else ""


def _finding_html(f: Finding) -> str:
    uc = f.use_case
    out = [f'<section class="finding" id="{_e(uc.id)}">', f"<h2>{_e(uc.title)}</h2>"]
    out.append(f'<p class="hint">{_e(uc.criteria())}</p>')
    if f.status == "recommendation" and f.winner is not None:
        w = f.winner
        margin = ""
        if f.versus_runner_up:
            n_sig = sum(
                bool(v["significant"]) and v["delta"] * (1 if f.higher_is_better else -1) > 0
                for v in f.versus_runner_up
            )
            margin = (
                f" Significantly better than the runner-up {_e(f.versus_runner_up[0]['runner_up'])} on "
                f"{n_sig} of {len(f.versus_runner_up)} dataset(s)."
            )
        out.append(
            f"<p><b>Recommendation: {_e(w.model)}</b> — mean {_e(uc.rank_by)} {_e(_fmt(w.score))} "
            f"over {len(f.datasets)} dataset(s).{margin}</p>"
        )
    else:
        out.append(f'<p class="empty"><b>No qualifying evidence.</b> {_e(f.reason)}</p>')
    if f.versus_runner_up:
        items = []
        for v in f.versus_runner_up:
            sig = {True: "significant", False: "not significant", None: "no interval"}[v["significant"]]
            items.append(
                f"<li>{_e(v['dataset'])}: {_e(uc.rank_by)} difference {_e(_fmt(v['delta']))} vs {_e(v['runner_up'])}"
                f"{_ci(v['ci95'])} ({sig}; runs {_run_link(v['run_id'])} vs {_run_link(v['runner_up_run_id'])})</li>"
            )
        out.append("<p>Against the runner-up (paired bootstrap, 95% interval of the difference):</p>")
        out.append("<ul>" + "".join(items) + "</ul>")
    if f.ranking:
        extra = list(uc.require)
        head = "".join(f"<th>{_e(h)}</th>" for h in ["model", f"mean {uc.rank_by}", "qualifies", "runs", "why not"])
        body = []
        for m in f.ranking:
            cells = []
            for e in m.runs:
                req = "".join(f", {_e(k)} {_e(_fmt(e.get(k)))}" for k in extra)
                cells.append(
                    f"{_e(e['dataset'])}: {_e(uc.rank_by)} {_e(_fmt(e[uc.rank_by]))}"
                    f"{_ci(e.get('ci95'))}{req} · {_run_link(e['run_id'])}"
                )
            body.append(
                f"<tr><td>{_e(m.model)}</td><td>{_e(_fmt(m.score))}</td><td>{'yes' if m.qualifies else 'no'}</td>"
                f"<td>{'<br>'.join(cells)}</td><td>{_e(m.why_not)}</td></tr>"
            )
        out.append(
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        )
    out.append("</section>")
    return "\n".join(out)


def _write_page(site_dir: Path, rel: str, title: str, body: str) -> Path:
    try:
        from modellab.site.build import render_page
    except Exception:  # noqa: BLE001 - standalone page when the site package is absent
        render_page = None
    if render_page is not None:
        return Path(render_page(site_dir, rel, title, body))
    path = site_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{_e(title)}</h1>{body}</main></body></html>",
        encoding="utf-8",
    )
    return path


def render_findings_page(site_dir: Path, con: Any) -> Path:
    """Write ``findings.html``, ``findings.json`` and ``candidates.html`` into ``site_dir``; return findings.html."""
    site_dir = Path(site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)
    findings = evaluate_findings(con)
    (site_dir / "findings.json").write_text(
        json.dumps([f.as_dict() for f in findings], indent=1, default=str), encoding="utf-8"
    )
    n_rec = sum(f.status == "recommendation" for f in findings)
    intro = (
        f'<p class="lead">{n_rec} of {len(findings)} use cases have a recommendation backed by runs. Numbers are the '
        "latest complete run per model and dataset; brackets are 95% bootstrap intervals over samples. Use cases "
        'come from <code>conf/findings/</code>. Data: <a href="findings.json">findings.json</a>. '
        'Promotion status of every model: <a href="candidates.html">candidates</a>.</p>'
    )
    toc = (
        "<ul>"
        + "".join(f'<li><a href="#{_e(f.use_case.id)}">{_e(f.use_case.title)}</a></li>' for f in findings)
        + "</ul>"
    )
    render_candidates_page(site_dir, con)
    return _write_page(
        site_dir, "findings.html", "Findings", intro + toc + "\n".join(_finding_html(f) for f in findings)
    )


def render_candidates_page(site_dir: Path, con: Any) -> Path:
    """``candidates.html``: each model's status, the proposed next one, and the checks behind it."""
    from modellab.analysis.promote import evaluate_model, golden_datasets, latest_index, model_registry

    registry = model_registry()
    index = latest_index(con)
    datasets = golden_datasets()
    sections = []
    summary = []
    for name in sorted(registry):
        try:
            p = evaluate_model(con, name, registry=registry, datasets=datasets, resamples=300, index=index)
        except ConfigError as exc:
            sections.append(f"<h2>{_e(name)}</h2><p class='empty'>{_e(exc)}</p>")
            continue
        verdict = f"{_e(p.current)} → <b>{_e(p.proposed)}</b>" if p.changes else f"{_e(p.current)}"
        items = []
        for c in p.checks:
            runs = " ".join(_run_link(r) for r in c.run_ids)
            mark = "ok" if c.passed else "<b>fail</b>"
            items.append(f"<tr><td>{mark}</td><td>{_e(c.name)}</td><td>{_e(c.detail)}</td><td>{runs}</td></tr>")
        table = (
            '<details><summary>evidence</summary><div class="table-wrap"><table><thead><tr><th></th><th>check</th>'
            f"<th>evidence</th><th>runs</th></tr></thead><tbody>{''.join(items)}</tbody></table></div></details>"
        )
        sections.append(f'<h2 id="{_e(name)}">{_e(name)}: {verdict}</h2><p>{_e(p.summary)}</p>{table}')
        n_ok = sum(c.passed for c in p.checks)
        summary.append(
            f'<tr><td><a href="#{_e(name)}">{_e(name)}</a></td><td>{_e(p.current)}</td>'
            f"<td>{'<b>' + _e(p.proposed) + '</b>' if p.changes else _e(p.proposed)}</td>"
            f"<td>{n_ok} / {len(p.checks)}</td></tr>"
        )
    intro = (
        '<p class="lead">Registry status proposed from the results by the rules in <code>conf/gates/promotion.yaml</code> '
        "(<code>python -m modellab promote MODEL --write</code> applies one).</p>"
    )
    table = (
        '<div class="table-wrap"><table><thead><tr><th>model</th><th>status</th><th>proposed</th><th>checks passed</th>'
        f"</tr></thead><tbody>{''.join(summary)}</tbody></table></div>"
    )
    return _write_page(site_dir, "candidates.html", "Promotion candidates", intro + table + "\n".join(sections))


# --- command line --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab findings", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="one findings YAML (default: every file in conf/findings/)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--site", help="also write findings.html / findings.json / candidates.html into this folder")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    args = parser.parse_args(argv)

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

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
            mark = "✔" if f.status == "recommendation" else "∅"
            print(f"{mark} {f.use_case.title}: {f.reason}")
            for m in f.ranking[:5]:
                runs = ", ".join(f"{e['dataset']} {_fmt(e[f.use_case.rank_by])} ({e['run_id']})" for e in m.runs)
                print(f"    {m.model:<24} mean {_fmt(m.score):<8} {'ok ' if m.qualifies else 'no '} {runs}")
                if m.why_not:
                    print(f"    {'':<24} why not: {m.why_not}")
    if args.site:
        print(f"wrote {render_findings_page(Path(args.site), con)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
