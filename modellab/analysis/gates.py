"""Regression gates: how much worse a candidate may be than its baseline, per metric (conf/gates/*.yaml).

A rule allows a worsening of ``abs`` (in the metric's own units) or ``rel`` (a fraction of the
baseline value); with both, the larger allowance applies. "Worse" follows the metric's direction
(``higher_is_better`` as recorded in the results, or the rule's own ``higher_is_better``). A rule
whose metric neither run has is not applicable; one the baseline has and the candidate lacks
fails. ``hardware_bound`` rules (speed, memory) only apply when both runs ran on the same
hardware. ``significant: true`` fails a breach only when the paired bootstrap says the worsening
is real (its 95% interval excludes zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from modellab.config import CONF_DIR, ConfigError
from modellab.metrics import direction as metric_direction

__all__ = [
    "GATES_DIR",
    "Gate",
    "GateResult",
    "GateRule",
    "evaluate_rule",
    "load_gate",
]

GATES_DIR = CONF_DIR / "gates"

_RULE_KEYS = {"abs", "rel", "higher_is_better", "hardware_bound", "significant"}
GATE_FAILED_CHOICES = ("include", "exclude", "both")


@dataclass
class GateRule:
    metric: str
    abs: float | None = None
    rel: float | None = None
    higher_is_better: bool | None = None
    hardware_bound: bool = False
    significant: bool = False

    def allowance(self, baseline: float) -> float:
        """The largest worsening this rule lets through, in the metric's units."""
        options = []
        if self.abs is not None:
            options.append(float(self.abs))
        if self.rel is not None:
            options.append(float(self.rel) * abs(baseline))
        return max(options)

    def describe(self) -> str:
        parts = []
        if self.abs is not None:
            parts.append(f"abs {self.abs:g}")
        if self.rel is not None:
            parts.append(f"rel {100 * self.rel:g}%")
        return " or ".join(parts)


@dataclass
class Gate:
    name: str
    path: Path
    rules: list[GateRule]
    description: str = ""
    promotion: dict[str, Any] = field(default_factory=dict)
    # A run whose worst sample carries more than this share of its word errors is flagged.
    max_error_share: float = 0.3
    # Judge WER over all samples (include), over those that passed every transcript gate in both runs
    # (exclude), or both ways (both: the gate fails when either judgement fails).
    gate_failed_samples: str = "include"

    def rule(self, metric: str) -> GateRule | None:
        return next((r for r in self.rules if r.metric == metric), None)

    @property
    def metrics(self) -> list[str]:
        return [r.metric for r in self.rules]


@dataclass
class GateResult:
    """One rule applied to one baseline/candidate pair."""

    metric: str
    status: str  # pass | fail | skipped
    baseline: float | None
    candidate: float | None
    worsening: float | None
    allowed: float | None
    reason: str

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_gate(spec: str | Path) -> Gate:
    """A gate file by path, or by name under conf/gates/ (``default`` -> conf/gates/default.yaml)."""
    path = Path(spec)
    if not path.suffix:
        path = GATES_DIR / f"{spec}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in GATES_DIR.glob("*.yaml")))
        raise ConfigError(f"{path}: no such gate file (gates in conf/gates/: {known})")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), dict) or not raw["rules"]:
        raise ConfigError(f"{path}: needs a 'rules' mapping of metric -> {{abs: ..., rel: ...}}")
    rules = []
    for metric, spec_ in raw["rules"].items():
        if not isinstance(spec_, dict):
            raise ConfigError(f"{path}: rule '{metric}' must be a mapping like {{abs: 0.005}}, got {spec_!r}")
        unknown = set(spec_) - _RULE_KEYS
        if unknown:
            raise ConfigError(
                f"{path}: rule '{metric}' has unknown keys {sorted(unknown)} (valid: {sorted(_RULE_KEYS)})"
            )
        if spec_.get("abs") is None and spec_.get("rel") is None:
            raise ConfigError(f"{path}: rule '{metric}' needs 'abs' or 'rel' (the allowed worsening)")
        for key in ("abs", "rel"):
            value = spec_.get(key)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise ConfigError(f"{path}: rule '{metric}': '{key}' must be a number >= 0, got {value!r}")
        rules.append(
            GateRule(
                metric=str(metric),
                abs=spec_.get("abs"),
                rel=spec_.get("rel"),
                higher_is_better=spec_.get("higher_is_better"),
                hardware_bound=bool(spec_.get("hardware_bound", False)),
                significant=bool(spec_.get("significant", False)),
            )
        )
    share = raw.get("max_error_share", 0.3)
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 < share <= 1:
        raise ConfigError(f"{path}: 'max_error_share' must be a number in (0, 1], got {share!r}")
    judged = raw.get("gate_failed_samples", "include")
    if judged not in GATE_FAILED_CHOICES:
        raise ConfigError(f"{path}: 'gate_failed_samples' must be one of {list(GATE_FAILED_CHOICES)}, got {judged!r}")
    return Gate(
        name=str(raw.get("name", path.stem)),
        path=path,
        rules=rules,
        description=str(raw.get("description", "")),
        promotion=dict(raw.get("promotion") or {}),
        max_error_share=float(share),
        gate_failed_samples=str(judged),
    )


def evaluate_rule(
    rule: GateRule,
    baseline: float | None,
    candidate: float | None,
    higher_is_better: bool | None,
    same_hardware: bool,
    significant_worsening: bool | None = None,
) -> GateResult:
    """Apply one rule. ``significant_worsening`` is the paired bootstrap's verdict (None: unknown)."""

    def result(status: str, reason: str, worsening: float | None = None, allowed: float | None = None) -> GateResult:
        return GateResult(rule.metric, status, baseline, candidate, worsening, allowed, reason)

    if baseline is None and candidate is None:
        return result("skipped", "neither run has this metric")
    if baseline is None:
        return result("skipped", "the baseline has no value for this metric")
    if candidate is None:
        return result("fail", "the candidate has no value for this metric (the baseline does)")
    if rule.hardware_bound and not same_hardware:
        return result("skipped", "hardware-bound metric; the runs are on different hardware")
    hib = metric_direction.higher_is_better(rule.higher_is_better, higher_is_better)  # the rule's, else recorded
    if hib is None:
        return result("skipped", "the metric has no direction (higher_is_better unknown)")
    worsening = (baseline - candidate) if hib else (candidate - baseline)
    allowed = rule.allowance(baseline)
    direction = "drop" if hib else "rise"
    if worsening <= 1e-12:
        return result(
            "pass", "unchanged" if worsening > -1e-12 else f"improved by {-worsening:.4g}", worsening, allowed
        )
    if worsening <= allowed + 1e-12:
        return result("pass", f"{direction} {worsening:.4g} within allowed {allowed:.4g}", worsening, allowed)
    if rule.significant and significant_worsening is False:
        return result(
            "pass", f"{direction} {worsening:.4g} > allowed {allowed:.4g} but not significant", worsening, allowed
        )
    return result(
        "fail", f"{direction} {worsening:.4g} > allowed {allowed:.4g} ({rule.describe()})", worsening, allowed
    )
