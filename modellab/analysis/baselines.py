"""Pinned baselines per model × dataset × hardware, and the regression check against them.

``python -m modellab baselines pin RUN_ID... | --latest``  copy runs into data/baselines/ (committed)
``python -m modellab baselines list``                     what is pinned
``python -m modellab baselines check [--gate default]``  gate the latest runs against their pins; exit 1 on failure

A pin is a small YAML file, ``data/baselines/<hardware>/<model>/<dataset>.yaml`` (``__<preprocessing>``
appended for a preprocessed run): the run's provenance, every metric, and each sample's scores and
raw output, so that a later run can be compared sample by sample (paired bootstrap) without the
original Parquet files. Results are gitignored; pins are reviewed like code. A run on hardware
without a pin of its own is checked against a pin from other hardware, on the hardware-independent
rules only (speed and memory rules are ``hardware_bound``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from modellab.analysis.comparable import Concentration, error_concentration, identity_fields, without_gate_failures
from modellab.analysis.compare import Comparison, compare_runs, format_report
from modellab.analysis.gates import Gate, load_gate
from modellab.analysis.rundata import RunData, RunNotFoundError, hardware_key, latest_run_ids, load_run
from modellab.config import REPO_ROOT, ConfigError

__all__ = [
    "BASELINES_DIR",
    "PinCheck",
    "check_runs",
    "find_pin",
    "list_pins",
    "load_pin",
    "main",
    "pin_path",
    "pin_run",
]

BASELINES_DIR = REPO_ROOT / "data" / "baselines"

_RUN_KEYS = (
    "task",
    "device",
    "compute_type",
    "threads",
    "batch_size",
    "dataset_kind",
    "dataset_hash",
    "normalizer",
    "normalizer_version",
    "git_sha",
    "started_at",
    "model_status",
    "cell_key",
)
_SAMPLE_SKIP = {"run_id", "audio_path", "artifact", "output"}
# What the comparability check needs beyond _RUN_KEYS (canonical JSON of the run's config sections).
_PINNED_IDENTITY = ("model_weights", "model_options", "task_options", "preprocessing_steps")


def pin_path(model: str, dataset: str, hardware: str, preprocessing: str = "none", root: Path | None = None) -> Path:
    suffix = "" if preprocessing == "none" else f"__{preprocessing}"
    return (root or BASELINES_DIR) / hardware / model / f"{dataset}{suffix}.yaml"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def pin_run(run: RunData, root: Path | None = None) -> Path:
    """Write ``run`` as the pinned baseline of its model × dataset × hardware (replacing any older pin)."""
    row = run.row
    path = pin_path(run.model, run.dataset, run.hardware, str(row.get("preprocessing") or "none"), root)
    hardware = row.get("hardware")
    if isinstance(hardware, str):
        try:
            hardware = json.loads(hardware)
        except json.JSONDecodeError:
            pass
    doc = {
        "model": run.model,
        "dataset": run.dataset,
        "preprocessing": row.get("preprocessing") or "none",
        "hardware": run.hardware,
        "run_id": run.run_id,
        "pinned_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": {
            **{k: _plain(row.get(k)) for k in _RUN_KEYS},
            **{k: v for k, v in identity_fields(run).items() if k in _PINNED_IDENTITY},
            **{k: v for k, v in row.items() if k.endswith("_signature") and isinstance(v, str)},
            "hardware_info": hardware,
        },
        "metrics": {
            name: {"value": _plain(value), "higher_is_better": run.higher_is_better.get(name)}
            for name, value in run.metrics.items()
        },
        "samples": [{k: _plain(v) for k, v in s.items() if k not in _SAMPLE_SKIP} for s in run.samples],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Pinned baseline (python -m modellab baselines pin). The regression gate compares new runs of this\n"
        "# model on this dataset and hardware against it. Re-pin deliberately, and say why in the commit.\n"
    )
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    tmp.replace(path)
    return path


def load_pin(path: Path) -> RunData:
    """A pinned baseline as a run (``source`` is its file)."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read pinned baseline: {exc}") from exc
    missing = [k for k in ("model", "dataset", "run_id", "metrics") if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise ConfigError(f"{path}: not a pinned baseline, missing {missing}")
    run = dict(doc.get("run") or {})
    row = {
        "run_id": doc["run_id"],
        "model": doc["model"],
        "dataset": doc["dataset"],
        "preprocessing": doc.get("preprocessing", "none"),
        "status": "ok",
        **{k: v for k, v in run.items() if k != "hardware_info"},
        "hardware": run.get("hardware_info") or {},
    }
    row["hardware_key"] = str(doc.get("hardware") or hardware_key(row))
    metrics = doc["metrics"] or {}
    return RunData(
        run_id=str(doc["run_id"]),
        row=row,
        metrics={k: float(v["value"]) for k, v in metrics.items() if v.get("value") is not None},
        higher_is_better={k: v.get("higher_is_better") for k, v in metrics.items()},
        samples=list(doc.get("samples") or []),
        source=str(path),
    )


def list_pins(root: Path | None = None) -> list[Path]:
    return sorted((root or BASELINES_DIR).glob("*/*/*.yaml"))


def find_pin(
    model: str, dataset: str, hardware: str, preprocessing: str = "none", root: Path | None = None
) -> tuple[Path, bool] | None:
    """The pin for this model × dataset × hardware (``exact=True``), else one from other hardware."""
    exact = pin_path(model, dataset, hardware, preprocessing, root)
    if exact.exists():
        return exact, True
    name = exact.name
    others = [p for p in (root or BASELINES_DIR).glob(f"*/{model}/{name}") if p != exact]
    return (sorted(others)[0], False) if others else None


class PinCheck:
    """One run checked against its pin: ``no pin``, ``not comparable`` (the pin scored other data or
    another setup: re-pin deliberately), ``FAIL`` or ``pass``."""

    def __init__(
        self,
        run: RunData,
        pin: Path | None,
        exact: bool,
        comparison: Comparison | None,
        concentration: Concentration | None = None,
        without_gate_failed: Comparison | None = None,
    ) -> None:
        self.run, self.pin, self.exact, self.comparison = run, pin, exact, comparison
        self.concentration = concentration
        self.without_gate_failed = without_gate_failed

    @property
    def comparable(self) -> bool:
        return self.comparison is not None and self.comparison.comparability.comparable

    @property
    def status(self) -> str:
        if self.comparison is None:
            return "no pin"
        if not self.comparable:
            return "not comparable"
        judged = [c for c in (self.comparison, self.without_gate_failed) if c is not None]
        return "FAIL" if any(c.gate_failed for c in judged) else "pass"

    def repin_command(self) -> str:
        return f"python -m modellab baselines pin {self.run.run_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "model": self.run.model,
            "dataset": self.run.dataset,
            "hardware": self.run.hardware,
            "pin": str(self.pin) if self.pin else None,
            "same_hardware": self.exact,
            "status": self.status,
            "comparison": self.comparison.as_dict() if self.comparison else None,
            "without_gate_failed": self.without_gate_failed.as_dict() if self.without_gate_failed else None,
            "error_concentration": None
            if self.concentration is None
            else {
                "sample_id": self.concentration.sample_id,
                "share": self.concentration.share,
                "flagged": self.concentration.flagged,
            },
            "repin": self.repin_command() if self.comparison is not None and not self.comparable else None,
        }


def check_runs(
    con: Any, run_ids: list[str], gate: Gate, resamples: int = 1000, seed: int = 0, root: Path | None = None
) -> list[PinCheck]:
    checks = []
    for run_id in run_ids:
        run = load_run(con, run_id)
        found = find_pin(run.model, run.dataset, run.hardware, str(run.row.get("preprocessing") or "none"), root)
        if found is None:
            checks.append(PinCheck(run, None, False, None))
            continue
        path, exact = found
        pinned = load_pin(path)
        judged = gate.gate_failed_samples
        main_gate = _without_rule(gate, "wer") if judged == "exclude" else gate
        comparison = compare_runs(pinned, run, resamples, seed, main_gate, same_setup=True)
        if not exact:
            comparison.notes.append(f"pin is from other hardware ({path.parent.parent.name}): speed rules skipped")
        filtered = None
        if judged != "include" and comparison.comparability.comparable and gate.rule("wer") is not None:
            filtered = _judged_without_gate_failures(pinned, run, gate, resamples, seed)
        concentration = error_concentration(run, gate.max_error_share)
        checks.append(PinCheck(run, path, exact, comparison, concentration, filtered))
    return checks


def _without_rule(gate: Gate, metric: str) -> Gate:
    return replace(gate, rules=[r for r in gate.rules if r.metric != metric])


def _judged_without_gate_failures(pinned: RunData, run: RunData, gate: Gate, resamples: int, seed: int) -> Comparison:
    """The WER rule alone, over the samples that passed every transcript gate in both runs."""
    passed = [{str(s.get("sample_id")) for s in r.samples if s.get("gates_passed") is not False} for r in (pinned, run)]
    keep = passed[0] & passed[1]
    wer_only = replace(gate, rules=[r for r in gate.rules if r.metric == "wer"])
    comparison = compare_runs(
        without_gate_failures(pinned, keep),
        without_gate_failures(run, keep),
        resamples,
        seed,
        wer_only,
        same_setup=True,
        ci_metrics={"wer"},
    )
    comparison.notes.append(f"judged without gate-failed samples ({len(keep)} of {len(run.samples)} kept)")
    return comparison


def _rel(path: Path | None) -> str:
    if path is None:
        return "—"
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _why(check: PinCheck) -> str:
    comparison = check.comparison
    if comparison is None:
        return ""
    if not check.comparable:
        return f"{comparison.comparability.reason()}; re-pin: {check.repin_command()}"
    judged = [c for c in (comparison, check.without_gate_failed) if c is not None]
    bad = [r for c in judged for r in c.gate_results if r.failed]
    why = "; ".join(f"{r.metric}: {r.reason}" for r in bad)
    if not why and not check.exact and check.pin:
        why = "quality rules only"
    gate_failures = sum(s.get("gates_passed") is False for s in check.run.samples)
    extras = [f"{gate_failures} samples failed a transcript gate"] if gate_failures else []
    if check.concentration is not None and check.concentration.flagged:
        extras.append(f"worst sample {check.concentration.share:.0%} of errors ({check.concentration.sample_id})")
    return "; ".join([why, *extras]) if why else "; ".join(extras)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab baselines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    parser.add_argument("--baselines-dir", default=None, help=f"default: {BASELINES_DIR}")
    sub = parser.add_subparsers(dest="command", required=True)
    pin = sub.add_parser("pin", help="pin runs as baselines")
    pin.add_argument("run_ids", nargs="*")
    pin.add_argument("--latest", action="store_true", help="pin the latest golden run of every model × dataset")
    sub.add_parser("list", help="list pinned baselines")
    check = sub.add_parser("check", help="gate runs against their pins (exit 1 on a regression)")
    check.add_argument("run_ids", nargs="*", help="default: the latest golden run of every model × dataset")
    check.add_argument("--gate", default="default")
    check.add_argument("--resamples", type=int, default=1000)
    check.add_argument("--seed", type=int, default=0)
    check.add_argument(
        "--require-pin", action="store_true", help="a run without a pin, or not comparable with its pin, fails too"
    )
    check.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from tabulate import tabulate

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

    root = Path(args.baselines_dir) if args.baselines_dir else None
    if args.command == "list":
        rows = []
        for path in list_pins(root):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            m = doc.get("metrics", {})
            main_metrics = ", ".join(f"{k}={m[k]['value']:.4g}" for k in ("wer", "rtfx") if k in m)
            rows.append([doc["model"], doc["dataset"], doc["hardware"], doc["run_id"], main_metrics, _rel(path)])
        print(tabulate(rows, headers=["model", "dataset", "hardware", "run", "metrics", "file"], tablefmt="github"))
        return 0

    con = connect(Path(args.results_dir) if args.results_dir else default_results_dir())
    golden = "dataset_kind = 'golden' AND preprocessing = 'none'"
    try:
        if args.command == "pin":
            ids = list(args.run_ids) or (latest_run_ids(con, golden) if args.latest else [])
            if not ids:
                parser.error("pin: give run ids or --latest")
            for run_id in ids:
                print(f"pinned {run_id} -> {_rel(pin_run(load_run(con, run_id), root))}")
            return 0
        gate = load_gate(args.gate)
        ids = list(args.run_ids) or latest_run_ids(con, golden)
        checks = check_runs(con, ids, gate, args.resamples, args.seed, root)
    except (RunNotFoundError, ConfigError) as exc:
        print(f"modellab.analysis.baselines: {exc}", file=sys.stderr)
        return 2
    failed = [
        c for c in checks if c.status == "FAIL" or (args.require_pin and c.status in ("no pin", "not comparable"))
    ]
    if args.json:
        print(json.dumps({"gate": gate.name, "passed": not failed, "checks": [c.as_dict() for c in checks]}, indent=1))
        return 1 if failed else 0
    rows = []
    for c in checks:
        rows.append([c.run.model, c.run.dataset, c.run.hardware, c.run.run_id, c.status, _rel(c.pin), _why(c)])
    print(
        tabulate(
            rows, headers=["model", "dataset", "hardware", "run", "gate", "pinned baseline", "why"], tablefmt="github"
        )
    )
    for c in checks:
        if c.status == "not comparable" and c.comparison is not None:
            print(f"\n=== {c.run.model} on {c.run.dataset}: not comparable with {_rel(c.pin)}")
            print("\n".join(f"  {d.describe()}" for d in c.comparison.comparability.quality))
            print(f"  if the change is intended, re-pin: {c.repin_command()}")
        if c.concentration is not None and c.concentration.flagged:
            print(f"\n=== {c.run.model} on {c.run.dataset}: {c.concentration.describe()}")
            sample = next((s for s in c.run.samples if str(s.get("sample_id")) == c.concentration.sample_id), {})
            print(f"  reference:  {str(sample.get('reference') or '')[:200]}")
            print(f"  hypothesis: {str(sample.get('hypothesis') or '')[:200]}")
            failed_gates = sorted(k for k, v in sample.items() if k.startswith("gate_") and v is False)
            print(f"  failed gates: {', '.join(failed_gates) or 'none'}")
        if c.comparison is not None and c.status == "FAIL":
            print(f"\n=== {c.run.model} on {c.run.dataset}: regression against {_rel(c.pin)}")
            print(format_report(c.comparison, top=5))
    print(
        f"\ngate '{gate.name}': {len(checks)} runs, "
        f"{sum(c.status == 'pass' for c in checks)} pass, {sum(c.status == 'FAIL' for c in checks)} fail, "
        f"{sum(c.status == 'no pin' for c in checks)} without a pinned baseline, "
        f"{sum(c.status == 'not comparable' for c in checks)} not comparable"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
