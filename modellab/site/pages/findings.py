"""``findings.html`` and ``findings.json`` (the recommendations of
:func:`modellab.analysis.findings.evaluate_findings`, every claim linked to its runs) and
``candidates.html`` (each model's registry status and the one the promotion rules propose)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellab.analysis.findings import Finding, evaluate_findings
from modellab.config import ConfigError
from modellab.site.catalog import format_value, metric_spec
from modellab.site.layout import PageWriter

__all__ = [
    "CandidateRow",
    "VERDICTS",
    "candidate_rows",
    "difference_text",
    "short_number",
    "significant_wins",
    "write_candidates_page",
    "write_findings_pages",
]


def short_number(value: float | None) -> str:
    """4 significant digits, or an em dash for no value (as ``python -m modellab findings`` prints them)."""
    return "—" if value is None else f"{value:.4g}"


def significant_wins(finding: Finding) -> int:
    """On how many datasets the winner beats the runner-up significantly (paired bootstrap)."""
    sign = 1 if finding.higher_is_better else -1
    return sum(bool(v["significant"]) and v["delta"] * sign > 0 for v in finding.versus_runner_up)


VERDICTS = {"recommendation": "recommended", "tied": "tied", "single": "one model only", "no_evidence": "no evidence"}


def difference_text(metric: str, value: float | None) -> str:
    """A difference of ``metric`` as the site prints the metric: rates in percentage points (``−2.20 pts``)."""
    if value is None:
        return "—"
    if metric_spec(metric).unit == "rate":
        return f"{100 * value:+.2f} pts".replace("-", "−")
    return format_value(metric, value) if value < 0 else "+" + format_value(metric, value)


def write_findings_pages(writer: PageWriter, con: Any) -> Path:
    """Write ``findings.json``, ``candidates.html`` and ``findings.html``; return findings.html."""
    writer.site_dir.mkdir(parents=True, exist_ok=True)
    findings = evaluate_findings(con)
    (writer.site_dir / "findings.json").write_text(
        json.dumps([f.as_dict() for f in findings], indent=1, default=str), encoding="utf-8"
    )
    write_candidates_page(writer, con)
    return writer.write(
        "findings.html",
        "findings.html",
        title="Findings",
        findings=findings,
        n_recommended=sum(f.status == "recommendation" for f in findings),
        num=short_number,
        significant_wins=significant_wins,
        diff=difference_text,
        verdicts=VERDICTS,
    )


@dataclass
class CandidateRow:
    """One model of ``candidates.html``: its promotion proposal, or why there is none."""

    name: str
    proposal: Any = None  # modellab.analysis.promote.Proposal
    error: str = ""

    @property
    def checks_passed(self) -> int:
        return sum(c.passed for c in self.proposal.checks) if self.proposal else 0

    def count(self, status: str) -> int:
        """How many of the model's checks ended in ``status`` (pass, fail, undecided, skipped, not comparable)."""
        return self.proposal.count(status) if self.proposal else 0


def write_candidates_page(writer: PageWriter, con: Any, rows: list[CandidateRow] | None = None) -> Path:
    """``candidates.html``: each model's status, the proposed next one, every check with its evidence (runs,
    interval, n) and the command that gathers what is missing. ``rows``: proposals made elsewhere (default:
    every model of the registry, evaluated on ``con``)."""
    if rows is None:
        rows = candidate_rows(con)
    return writer.write("candidates.html", "candidates.html", title="Promotion candidates", candidates=rows)


def candidate_rows(con: Any) -> list[CandidateRow]:
    """The promotion proposal of every model in the registry (or why there is none)."""
    from modellab.analysis.gates import load_gate
    from modellab.analysis.promote import (
        dataset_catalog,
        evaluate_model,
        latest_index,
        model_registry,
        quality_datasets,
    )

    registry = model_registry()
    index = latest_index(con)
    rows = []
    try:
        policy = load_gate("promotion")
        catalog = dataset_catalog()
        datasets = quality_datasets(policy, catalog)
    except ConfigError as exc:
        return [CandidateRow(name, error=str(exc)) for name in sorted(registry)]
    for name in sorted(registry):
        try:
            proposal = evaluate_model(
                con, name, policy, registry, datasets, resamples=300, index=index, catalog=catalog
            )
        except ConfigError as exc:
            rows.append(CandidateRow(name, error=str(exc)))
            continue
        rows.append(CandidateRow(name, proposal))
    return rows
