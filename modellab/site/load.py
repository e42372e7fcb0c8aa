"""What the site reads: results through DuckDB views, and the model/dataset registry.

Samples are materialised once into a DuckDB table; per-run pages only ever get a bounded slice
(the worst N samples) and the full sample list goes to one CSV per run, written in a single pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from modellab.results.views import connect
from modellab.site.shaping import direction, parse_json

__all__ = [
    "AUDIO_SUFFIXES",
    "DatasetEntry",
    "GateCount",
    "MetricRow",
    "ModelEntry",
    "Registry",
    "Results",
    "add_sample_sizes",
    "copy_media",
    "export_samples",
    "gate_counts",
    "load_registry",
    "load_results",
    "quote_ident",
    "sample_values",
    "worst_samples",
]

logger = logging.getLogger(__name__)

# Run fields the pages read; older or hand-made results that lack one get None.
RUN_FIELDS = (
    "run_id",
    "started_at",
    "finished_at",
    "model",
    "task",
    "dataset",
    "dataset_kind",
    "dataset_hash",
    "device",
    "compute_type",
    "threads",
    "batch_size",
    "preprocessing",
    "status",
    "n_samples",
    "n_failed",
    "cell_key",
    "sweep_id",
    "timing_scope",
    "warmup",
    "config",
    "config_hash",
    "model_params",
    "git_sha",
    "git_dirty",
    "versions",
    "hardware",
    "modellab_version",
    "normalizer",
    "normalizer_version",
    "ci_level",
    "ci_resamples",
)
JSON_COLUMNS = ("config", "versions", "hardware", "model_params", "preprocessing_steps")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm")
MAX_MEDIA_BYTES = 20 * 2**20
SAMPLES_TABLE = "samples"  # the temporary copy load_results makes


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dicts(rel: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


class MetricRow(NamedTuple):
    """One stored metric of a run, with its bootstrap interval where the run stored one."""

    name: str
    value: float
    higher_is_better: bool | None
    interval: tuple[float, float] | None


@dataclass
class Results:
    """Every run (newest first, JSON columns parsed), metric directions and the samples table."""

    con: duckdb.DuckDBPyConnection
    runs: list[dict[str, Any]]
    directions: dict[str, bool | None]
    metrics: dict[str, list[MetricRow]]
    sample_columns: dict[str, str]  # name -> DuckDB type

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {str(r["run_id"]): r for r in self.runs}


def load_results(results_dir: str | Path) -> Results:
    """Read the store once: its views' tables are copied into temporary tables of the same names,
    which shadow the views, so every later query of the build (and of page providers, which get
    ``con``) reads memory instead of listing and opening every per-run Parquet file again."""
    con = connect(results_dir)
    for table in ("runs_raw", "metrics", "samples"):
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM main.{table}")
    runs = _dicts(con.execute("SELECT * FROM runs"))
    runs.sort(key=lambda r: (str(r.get("started_at") or ""), str(r.get("run_id"))), reverse=True)
    for run in runs:
        for key in RUN_FIELDS:
            run.setdefault(key, None)
        for key in JSON_COLUMNS:
            if key in run:
                run[key] = parse_json(run[key])
    directions: dict[str, bool | None] = {}
    metrics: dict[str, list[MetricRow]] = {}
    have = {row[0] for row in con.execute("DESCRIBE metrics").fetchall()}
    ci = "ci_low, ci_high" if {"ci_low", "ci_high"} <= have else "NULL, NULL"  # stores older than intervals
    by_id = {str(run["run_id"]): run for run in runs}
    for run_id, name, value, hib, low, high in con.execute(
        f"SELECT run_id, name, value, higher_is_better, {ci} FROM metrics ORDER BY run_id, name"
    ).fetchall():
        interval = (low, high) if low is not None and high is not None else None
        metrics.setdefault(run_id, []).append(MetricRow(name, value, hib, interval))
        if directions.get(name) is None:
            directions[name] = hib
        if interval is not None and run_id in by_id:
            by_id[run_id].setdefault("intervals", {})[name] = interval
    columns = {row[0]: str(row[1]) for row in con.execute(f"DESCRIBE {SAMPLES_TABLE}").fetchall()}
    _add_sample_flags(con, columns, by_id)
    add_sample_sizes(con, columns, by_id)
    add_load_sources(runs)
    for run in runs:
        borrow_normaliser_intervals(run)
    return Results(con, runs, directions, metrics, columns)


def borrow_normaliser_intervals(run: dict[str, Any]) -> None:
    """``wer``/``cer`` without a stored interval take the one of their normaliser's named twin
    (``wer_whisper_en`` when the run's normaliser is ``whisper_en``) when the two values are equal:
    the same number must not show an interval on one page and none on another."""
    intervals = run.get("intervals")
    normaliser = run.get("normalizer")
    if not isinstance(intervals, dict) or not normaliser:
        return
    for base in ("wer", "cer"):
        twin = f"{base}_{normaliser}"
        if base not in intervals and twin in intervals and run.get(base) is not None and run.get(base) == run.get(twin):
            intervals[base] = intervals[twin]


def add_load_sources(runs: Sequence[dict[str, Any]]) -> None:
    """A run with ``load_s`` = 0 found its model loaded in the process already: set ``load_from``
    to (run_id, load_s) of the newest earlier run of the same model and sweep that loaded it."""
    loaders: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: str(r.get("started_at") or "")):
        key = (str(run.get("model")), str(run.get("sweep_id") or run.get("run_id")))
        load = run.get("load_s")
        if isinstance(load, (int, float)) and load > 0:
            loaders.setdefault(key, []).append(run)
        elif load == 0 and loaders.get(key):
            source = loaders[key][-1]
            run["load_from"] = (str(source["run_id"]), float(source["load_s"]))


def _add_sample_flags(
    con: duckdb.DuckDBPyConnection, columns: Mapping[str, str], by_id: Mapping[str, dict[str, Any]]
) -> None:
    """Per run: the worst sample's share of the word errors (``error_share``, ``error_share_sample``)
    and how many samples failed a transcript gate (``n_gate_failed``), for the boards' flags."""
    have_errors = {"substitutions", "deletions", "insertions"} <= set(columns)
    errors = "coalesce(substitutions, 0) + coalesce(deletions, 0) + coalesce(insertions, 0)"
    share = f"max({errors}) / nullif(sum({errors}), 0), arg_max(sample_id, {errors})" if have_errors else "NULL, NULL"
    gate = "count_if(NOT gates_passed)" if columns.get("gates_passed") == "BOOLEAN" else "NULL"
    for run_id, error_share, sample_id, gate_failed in con.execute(
        f"SELECT run_id, {share}, {gate} FROM {SAMPLES_TABLE} GROUP BY run_id"
    ).fetchall():
        run = by_id.get(str(run_id))
        if run is not None:
            run.update(error_share=error_share, error_share_sample=sample_id, n_gate_failed=gate_failed)


def add_sample_sizes(
    con: duckdb.DuckDBPyConnection, columns: Mapping[str, str], by_id: Mapping[str, dict[str, Any]]
) -> None:
    """Per run: how many samples it scored (``n_scored``, those without an error) and their audio
    seconds (``scored_s``, Σ ``duration_s``; None where the samples carry no duration)."""
    if "run_id" not in columns:
        return
    scored = "error IS NULL OR error = ''" if "error" in columns else "true"
    seconds = f"sum(duration_s) FILTER (WHERE {scored})" if "duration_s" in columns else "NULL"
    for run_id, n_scored, scored_s in con.execute(
        f"SELECT run_id, count(*) FILTER (WHERE {scored}), {seconds} FROM {SAMPLES_TABLE} GROUP BY run_id"
    ).fetchall():
        run = by_id.get(str(run_id))
        if run is not None:
            run.update(n_scored=int(n_scored), scored_s=None if scored_s is None else float(scored_s))


_NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL", "UBIGINT", "REAL")


def _numeric(columns: Mapping[str, str], name: str | None) -> bool:
    if not name:
        return False
    return name in columns and columns[name].upper().startswith(_NUMERIC)


def worst_samples(
    results: Results, run_ids: Sequence[str], primary: str | None, limit: int
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``limit`` samples per run, worst first: failures, then the worst ``primary`` value,
    then failed gates. ``output`` (raw model output) is cut to 2,000 characters."""
    cols = results.sample_columns
    if not run_ids or "run_id" not in cols:
        return {}
    order = []
    if "error" in cols:
        order.append("(error IS NOT NULL) DESC")
    if _numeric(cols, primary):
        worst_high = direction(str(primary), results.directions) is not True
        order.append(f"{quote_ident(str(primary))} {'DESC' if worst_high else 'ASC'} NULLS LAST")
    if "gates_passed" in cols:
        order.append("gates_passed ASC NULLS LAST")
    order.append("sample_id")
    select = "*"
    if "output" in cols:
        select = "* REPLACE (left(CAST(output AS VARCHAR), 2000) AS output)"
    ranking = f"row_number() OVER (PARTITION BY run_id ORDER BY {', '.join(order)})"
    sql = (
        f"SELECT {select}, {ranking} AS _rank FROM {SAMPLES_TABLE} WHERE run_id IN (SELECT unnest($ids)) "
        "QUALIFY _rank <= $limit ORDER BY run_id, _rank"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in _dicts(results.con.execute(sql, {"ids": list(run_ids), "limit": limit})):
        row.pop("_rank", None)
        out.setdefault(str(row["run_id"]), []).append(row)
    return out


def sample_values(results: Results, column: str | None, run_ids: Iterable[str]) -> dict[str, list[float]]:
    """Per-sample values of a numeric column, per run (for the error distribution)."""
    ids = list(run_ids)
    if not ids or not _numeric(results.sample_columns, column):
        return {}
    col = quote_ident(str(column))
    out: dict[str, list[float]] = {}
    for run_id, value in results.con.execute(
        f"SELECT run_id, {col} FROM {SAMPLES_TABLE} WHERE {col} IS NOT NULL AND isfinite({col}::DOUBLE) "
        "AND run_id IN (SELECT unnest($ids))",
        {"ids": ids},
    ).fetchall():
        out.setdefault(run_id, []).append(float(value))
    return out


@dataclass
class GateCount:
    name: str
    passed: int
    failed: int
    not_applicable: int


def gate_counts(results: Results) -> dict[str, list[GateCount]]:
    """run_id -> pass/fail/n.a. counts of every boolean ``gate_*`` column and ``gates_passed``."""
    gates = [
        c
        for c, t in results.sample_columns.items()
        if (c.startswith("gate_") or c == "gates_passed") and t == "BOOLEAN"
    ]
    if not gates:
        return {}
    parts = []
    for g in gates:
        q = quote_ident(g)
        parts.append(f"count_if({q}), count_if(NOT {q}), count(*) - count({q})")
    out: dict[str, list[GateCount]] = {}
    for row in results.con.execute(
        f"SELECT run_id, {', '.join(parts)} FROM {SAMPLES_TABLE} GROUP BY run_id"
    ).fetchall():
        counts = [GateCount(g, *row[1 + 3 * i : 4 + 3 * i]) for i, g in enumerate(gates)]
        out[row[0]] = [c for c in counts if c.passed or c.failed]
    return out


def export_samples(results: Results, out_dir: Path, file_name: Callable[[str], str]) -> dict[str, str]:
    """Write every run's samples to ``out_dir/<file_name(run_id)>`` as CSV in one pass; run_id -> name."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if "run_id" not in results.sample_columns:
        return {}
    rel = results.con.sql(f"SELECT * FROM {SAMPLES_TABLE} ORDER BY run_id, sample_id")
    table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # DuckDB 2 renamed it
    if table.num_rows == 0:
        return {}
    table = table.select([c for c in table.column_names if not pa.types.is_null(table.schema.field(c).type)])
    run_ids = table.column("run_id").to_pylist()
    written: dict[str, str] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for i in range(1, len(run_ids) + 1):
        if i == len(run_ids) or run_ids[i] != run_ids[start]:
            name = file_name(str(run_ids[start]))
            pacsv.write_csv(table.slice(start, i - start), out_dir / name)
            written[str(run_ids[start])] = name
            start = i
    return written


def copy_media(source: str | None, site_dir: Path) -> str | None:
    """Copy an audio file into ``site/media/`` (once, by content of its path) and return its
    site-relative path; None when it is missing, not audio or larger than 20 MiB."""
    if not source:
        return None
    path = Path(source)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size > MAX_MEDIA_BYTES:
        return None
    name = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16] + path.suffix.lower()
    dest = site_dir / "media" / name
    if not dest.exists() or dest.stat().st_size != size:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # copy then rename: worker processes rendering run pages may copy the same file at once
        partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, dest)
    return f"media/{name}"


# --- the registry -----------------------------------------------------------------------------
@dataclass
class ModelEntry:
    config: str  # the file name in conf/model/ (what +model= takes)
    name: str
    family: str
    capabilities: list[str]
    status: str
    devices: list[str]
    license: str
    parameters: str
    description: str
    weights: str
    requires: list[str]
    extra: str


@dataclass
class DatasetEntry:
    config: str  # the file name in conf/dataset/ (what dataset= takes)
    name: str
    tasks: list[str]
    kind: str
    license: str
    description: str
    samples: int | None = None
    hours: float | None = None
    hash: str | None = None
    available: str = "no"


@dataclass
class Registry:
    models: list[ModelEntry] = field(default_factory=list)
    datasets: list[DatasetEntry] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    preprocessing: list[str] = field(default_factory=list)
    default_datasets: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _value(v: Any) -> str:
    return v.value if hasattr(v, "value") else str(v)


def _component_loader() -> Callable[[str, str], Any]:
    """``(group, name) -> instance``, as :func:`modellab.config.registry.load_component` builds it, but
    composing the primary config once: each YAML is merged into it and resolved with OmegaConf.
    Configs using Hydra features (a ``defaults`` list, ``@package``) go through Hydra itself."""
    from omegaconf import OmegaConf

    from modellab.config import CONF_DIR, instantiate_component, validate_group
    from modellab.config.registry import compose_config, load_component

    groups = ("model", "task", "dataset", "device", "preprocessing")
    base = {
        k: v for k, v in _mapping(OmegaConf.to_container(compose_config([]), resolve=False)).items() if k not in groups
    }

    def load(group: str, name: str) -> Any:
        path = CONF_DIR / group / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        node = OmegaConf.load(path)
        if "@package" in text or "defaults" in node:
            return load_component(group, name)
        merged = OmegaConf.create({**base, group: OmegaConf.to_container(node, resolve=False)})
        resolved = _mapping(OmegaConf.to_container(merged, resolve=True))[group]
        kwargs: dict[str, Any] = {"_convert_": "all"}
        if group == "dataset":
            kwargs["_recursive_"] = False
        return instantiate_component(validate_group(group, resolved), **kwargs)

    return load


def _mapping(container: Any) -> dict[str, Any]:
    """``OmegaConf.to_container`` of a ``DictConfig``: a dict (its declared return type is wider)."""
    if not isinstance(container, dict):
        raise TypeError(f"expected a mapping config, got {type(container).__name__}")
    return container


def _model_entry(name: str, m: Any) -> ModelEntry:
    info, w = m.info, m.weights
    where = w.package or w.repo_id or w.path or ", ".join(w.packages) or ""
    return ModelEntry(
        name,
        m.name,
        info.family,
        [_value(c) for c in info.capabilities],
        _value(info.status),
        list(info.devices),
        info.license,
        str(info.parameters or ""),
        info.description,
        f"{w.source}: {where}" if where else w.source,
        list(info.requires),
        str(info.extra or ""),
    )


def _dataset_entry(name: str, ds: Any) -> DatasetEntry:
    """A dataset's registry facts; size, hours and content hash only where it is built here."""
    entry = DatasetEntry(name, ds.name, list(ds.tasks), ds.kind, ds.license, ds.description)
    if ds.is_built():
        samples = ds.samples()
        entry.samples = len(samples)
        entry.hours = sum(s.duration_s or 0.0 for s in samples) / 3600
        entry.hash = ds.content_hash()
        entry.available = "yes"
    else:
        entry.available = f"not built here (python -m modellab.datasets build {ds.name})"
    return entry


def load_registry() -> Registry:
    """Every model and dataset config, one at a time: a broken config is reported, not fatal."""
    from omegaconf import DictConfig, OmegaConf

    from modellab.config import CONF_DIR, group_options

    load_component = _component_loader()

    reg = Registry(
        tasks=group_options("task"), devices=group_options("device"), preprocessing=group_options("preprocessing")
    )
    for name in group_options("model"):
        try:
            m = load_component("model", name)
        except Exception as exc:  # noqa: BLE001 - one broken config must not hide the others
            reg.errors.append(f"conf/model/{name}.yaml: {exc}")
            continue
        reg.models.append(_model_entry(name, m))
    for name in group_options("dataset"):
        if name.startswith("default_"):
            try:
                node = OmegaConf.load(CONF_DIR / "dataset" / f"{name}.yaml")
                if not isinstance(node, DictConfig):
                    raise TypeError(f"expected a mapping, got {type(node).__name__}")
                defaults = node.get("defaults") or []
                if defaults:
                    reg.default_datasets[name.removeprefix("default_")] = str(defaults[0])
            except Exception as exc:  # noqa: BLE001
                reg.errors.append(f"conf/dataset/{name}.yaml: {exc}")
            continue
        try:
            reg.datasets.append(_dataset_entry(name, load_component("dataset", name)))
        except Exception as exc:  # noqa: BLE001
            reg.errors.append(f"conf/dataset/{name}.yaml: {exc}")
    for error in reg.errors:
        logger.warning("[site] registry: %s", error)
    return reg
