"""One run's row, metrics and samples in memory, from the results views or a pinned-baseline file.

Also how users name runs on the command line: a run id, or ``MODEL[:KEY=VALUE...]`` meaning the
latest complete run of that model (on ``--dataset``; ``preprocessing=none`` unless given), e.g.
``faster_whisper:preprocessing=add_noise_snr0``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from modellab.results.latest import latest_complete

__all__ = [
    "RunData",
    "RunNotFoundError",
    "has_runs",
    "hardware_key",
    "latest_run_ids",
    "load_run",
    "resolve_run",
    "rows",
]


class RunNotFoundError(LookupError):
    """A run reference matched nothing; the message says what exists."""


@dataclass
class RunData:
    run_id: str
    row: dict[str, Any]
    metrics: dict[str, float]
    higher_is_better: dict[str, bool | None]
    samples: list[dict[str, Any]] = field(default_factory=list)
    source: str = "results"

    @property
    def model(self) -> str:
        return str(self.row.get("model", "?"))

    @property
    def dataset(self) -> str:
        return str(self.row.get("dataset", "?"))

    @property
    def hardware(self) -> str:
        return hardware_key(self.row)

    def label(self) -> str:
        r = self.row
        return f"{r.get('model')} × {r.get('task')} × {r.get('dataset')} × {r.get('preprocessing')}"


def rows(cursor: Any) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def hardware_key(row: dict[str, Any]) -> str:
    """``<device>-<processor>[-<isa>]`` of a run, e.g. ``cpu-amd-epyc-avx2`` or ``cuda-nvidia-h100-80gb-hbm3``."""
    if row.get("hardware_key"):
        return str(row["hardware_key"])
    hw = row.get("hardware") or {}
    if isinstance(hw, str):
        try:
            hw = json.loads(hw)
        except json.JSONDecodeError:
            hw = {"cpu": hw}
    device = str(row.get("device") or "cpu")
    if device.startswith(("cuda", "gpu")) and hw.get("gpu"):
        return f"{_slug(device)}-{_slug(str(hw['gpu']))}"
    # on a CPU the vector extension is part of it (AVX2 and AVX-512 decode int8 differently); runs
    # recorded before it was (no "isa") keep the plain key
    isa = f"-{_slug(str(hw['isa']))}" if hw.get("isa") else ""
    return f"{_slug(device)}-{_slug(str(hw.get('cpu', 'unknown')))}{isa}"


def load_run(con: Any, run_id: str) -> RunData:
    """A run from a :func:`modellab.results.views.connect` connection."""
    found = rows(con.execute("SELECT * FROM runs_raw WHERE run_id = ?", [run_id]))
    if not found:
        raise RunNotFoundError(f"no run '{run_id}' in the results (python -m modellab query 'SELECT run_id FROM runs')")
    metric_rows = con.execute("SELECT name, value, higher_is_better FROM metrics WHERE run_id = ?", [run_id]).fetchall()
    from modellab.metrics.stats import run_samples

    return RunData(
        run_id=run_id,
        row=found[0],
        metrics={n: float(v) for n, v, _ in metric_rows if v is not None},
        higher_is_better={n: h for n, _, h in metric_rows},
        samples=run_samples(con, run_id),
    )


def _columns(con: Any) -> set[str]:
    return {r[0] for r in con.execute("DESCRIBE runs_raw").fetchall()}


def has_runs(con: Any) -> bool:
    """Whether the results hold any run (an empty store has a placeholder ``runs_raw`` view)."""
    return "model" in _columns(con)


def resolve_run(con: Any, spec: str, dataset: str | None = None) -> str:
    """The run id ``spec`` names: a run id, or ``MODEL[:KEY=VALUE...]`` (latest complete run)."""
    if not has_runs(con):
        raise RunNotFoundError(f"'{spec}': the results hold no runs yet (results_dir or $MODELLAB_RESULTS_DIR?)")
    if con.execute("SELECT 1 FROM runs_raw WHERE run_id = ?", [spec]).fetchone():
        return spec
    model, *pairs = spec.split(":")
    filters: dict[str, str] = {}
    columns = _columns(con)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in columns:
            raise RunNotFoundError(
                f"'{spec}': '{pair}' is not KEY=VALUE with KEY a runs column (e.g. preprocessing, device, compute_type)"
            )
        filters[key] = value
    models = [r[0] for r in con.execute("SELECT DISTINCT model FROM runs_raw ORDER BY 1").fetchall()]
    if model not in models:
        raise RunNotFoundError(
            f"'{spec}' is neither a run id nor a model with runs; models with runs: {', '.join(models) or 'none'}"
        )
    if dataset:
        filters["dataset"] = dataset
    filters.setdefault("preprocessing", "none")
    where = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in filters)
    found = rows(
        con.execute(
            f"SELECT run_id, dataset, status, started_at FROM runs_raw WHERE model = ? AND {where} ORDER BY run_id",
            [model, *filters.values()],
        )
    )
    latest = latest_complete(found, key=itemgetter("dataset"))
    if not latest:
        have = con.execute(
            "SELECT DISTINCT dataset || ' × ' || preprocessing FROM runs_raw WHERE model = ? ORDER BY 1", [model]
        ).fetchall()
        wanted = ", ".join(f"{k}={v}" for k, v in filters.items())
        raise RunNotFoundError(
            f"no complete run of '{model}' with {wanted}; it has runs on: {', '.join(h[0] for h in have)}"
        )
    if len(latest) > 1:
        datasets = sorted(str(r["dataset"]) for r in latest)
        raise RunNotFoundError(f"'{model}' has runs on several datasets ({', '.join(datasets)}): pass --dataset")
    return str(latest[0]["run_id"])


def latest_run_ids(con: Any, where: str = "true", params: list[Any] | None = None) -> list[str]:
    """The latest complete run per model × task × dataset × preprocessing × device matching ``where``."""
    if not has_runs(con):
        return []
    found = rows(
        con.execute(
            "SELECT run_id, model, task, dataset, preprocessing, device, status, started_at FROM runs_raw "
            f"WHERE ({where}) ORDER BY run_id",
            params or [],
        )
    )
    setup = itemgetter("model", "task", "dataset", "preprocessing", "device")
    return sorted(str(r["run_id"]) for r in latest_complete(found, key=setup))
