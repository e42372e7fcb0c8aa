"""``python -m modellab rescore (--run RUN_ID ... | --where SQL) [OVERRIDE ...]``: score stored runs
again from their raw outputs, without loading a model or running inference.

Each selected run's stored config is taken with the overrides applied (e.g.
``task.options.primary_normalizer=basic``), its task is rebuilt, and ``score()`` runs on the raw
outputs in the ``samples`` table. The result is a new run with its own cell key (the one a real
run with that config would have, so it is reused like one), the speed metrics of the original run
and ``rescored_from`` set to the original run id. References come from the dataset when it is
here and unchanged (same content hash), otherwise from the stored ``reference`` column.

    python -m modellab rescore --where "model = 'faster_whisper' AND task = 'asr'" task.options.primary_normalizer=basic
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from omegaconf import OmegaConf

from modellab.app import Cell, build_cell
from modellab.config import ConfigError
from modellab.config.registry import compose_config
from modellab.datasets.base import DatasetError, DatasetNotAvailableError
from modellab.metrics.stats import Intervals, with_intervals
from modellab.results.store import ResultsStore, default_results_dir
from modellab.results.views import connect
from modellab.run.recorder import config_hash
from modellab.run.runner import cell_key
from modellab.tasks.base import SampleRecord, Scores
from modellab.types import Sample

__all__ = ["SPEED_METRICS", "RescoreError", "Rescored", "rescore_run", "rescore", "main"]

# Metrics the runner measures during inference: a rescore copies them from the original run.
SPEED_METRICS = frozenset({"load_s", "audio_s", "compute_s", "rtf", "rtfx", "peak_rss_mb", "rss_growth", "n_failed"})


class RescoreError(ValueError):
    """A run cannot be rescored; the message names the run and the reason."""


@dataclass
class Rescored:
    source_run_id: str
    run_id: str
    cached: bool
    summary: str


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _records(rows: list[dict[str, Any]], samples_by_id: dict[str, Sample] | None) -> list[SampleRecord]:
    records = []
    for row in rows:
        sample = (samples_by_id or {}).get(row["sample_id"]) or Sample(
            sample_id=row["sample_id"],
            audio_path=row.get("audio_path"),
            text=row.get("reference"),
            duration_s=row.get("duration_s"),
        )
        output = _loads(row.get("output"))
        records.append(
            SampleRecord(
                sample,
                output if isinstance(output, dict) else None,
                row.get("error"),
                float(row.get("compute_s") or 0.0),
                float(row.get("duration_s") or 0.0),
                row.get("artifact"),
                row.get("level_dbfs"),
            )
        )
    return records


def rescore_run(run_id: str, overrides: list[str], results_dir: str | None = None, force: bool = False) -> Rescored:
    """Score one stored run again under ``overrides`` (Hydra-style ``key=value`` on its config)."""
    store = ResultsStore(results_dir or default_results_dir())
    con = connect(store.root)
    run = _stored_run(con, run_id, store)
    cfg = _config_with(run, overrides)
    cell = build_cell(cfg)  # validates the new config; constructors load nothing
    dataset_hash = run.get("dataset_hash") or ""
    key = cell_key(
        cell.model, cell.task, dataset_hash, cell.dataset.name, cell.dataset.limit, cell.device, cell.preprocessing
    )
    if not force:
        same = con.sql(
            f"SELECT run_id FROM runs_raw WHERE cell_key = '{key}' AND status <> 'failed' LIMIT 1"
        ).fetchall()
        if same:
            return Rescored(run_id, same[0][0], True, "unchanged, already scored this way")

    srel = con.sql(f"SELECT * FROM samples WHERE run_id = '{run_id}'")
    rows = [dict(zip(srel.columns, r, strict=True)) for r in srel.fetchall()]
    records = _records(rows, _dataset_samples(cell, dataset_hash, run_id))
    scores = cell.task.score(records, cell.dataset.kind)

    new_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    now = datetime.now(timezone.utc).isoformat()
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    new_run = {k: v for k, v in run.items() if v is not None}
    new_run.update(
        run_id=new_id,
        started_at=now,
        finished_at=now,
        cell_key=key,
        config=plain,
        config_hash=config_hash(plain),
        rescored_from=run_id,
        **cell.task.metadata(),
    )
    metric_rows = _metric_rows(con, run_id, new_id, scores)
    sample_rows = _sample_rows(new_id, rows, records, scores)
    con.close()
    new_run.pop("ci_level", None)
    new_run.pop("ci_resamples", None)
    iv = cfg.get("intervals")  # configs stored before intervals existed have none
    intervals = Intervals(int(iv.resamples), float(iv.level)) if iv else None
    metric_rows = with_intervals(metric_rows, sample_rows, new_run, intervals, int(cfg.get("seed") or 0))
    store.write_run(new_run, sample_rows, metric_rows)
    return Rescored(run_id, new_id, False, scores.summary)


def _stored_run(con: Any, run_id: str, store: ResultsStore) -> dict[str, Any]:
    """The ``runs_raw`` row of ``run_id``, refused when it is missing or failed."""
    rel = con.sql(f"SELECT * FROM runs_raw WHERE run_id = '{run_id.replace(chr(39), '')}' LIMIT 1")
    found = rel.fetchall()
    if not found:
        raise RescoreError(f"run {run_id}: not in {store.root}")
    run = dict(zip(rel.columns, found[0], strict=True))
    if run.get("status") == "failed":
        raise RescoreError(f"run {run_id}: failed run, it has no outputs to score")
    return run


def _config_with(run: dict[str, Any], overrides: list[str]) -> Any:
    """The run's stored config with ``overrides`` applied."""
    config = _loads(run.get("config"))
    if not isinstance(config, dict):
        raise RescoreError(f"run {run['run_id']}: no stored config")
    if "intervals" not in config:  # stored before runs kept intervals: today's defaults
        config["intervals"] = OmegaConf.to_container(compose_config([]).intervals)
    return OmegaConf.merge(OmegaConf.create(config), OmegaConf.from_dotlist(list(overrides)))


def _dataset_samples(cell: Cell, dataset_hash: str, run_id: str) -> dict[str, Sample] | None:
    """The dataset's samples by id when it is here and unchanged; None when it is not here."""
    try:
        if cell.dataset.content_hash() != dataset_hash:
            raise RescoreError(
                f"run {run_id}: dataset '{cell.dataset.name}' changed since the run (hash "
                f"{cell.dataset.content_hash()} != {dataset_hash}); run it again instead of rescoring"
            )
        return {s.sample_id: s for s in cell.dataset.samples()}
    except (DatasetNotAvailableError, DatasetError, OSError):
        return None  # not here: score against the stored references


def _metric_rows(con: Any, run_id: str, new_id: str, scores: Scores) -> list[dict[str, Any]]:
    """The new scores' metrics, and the original run's speed metrics copied over."""
    speed = con.sql(f"SELECT name, value, higher_is_better FROM metrics WHERE run_id = '{run_id}'").fetchall()
    return [
        {"run_id": new_id, "name": m.name, "value": float(m.value), "higher_is_better": m.higher_is_better}
        for m in scores.metrics
        if m.value is not None and m.name not in SPEED_METRICS
    ] + [
        {"run_id": new_id, "name": name, "value": value, "higher_is_better": hib}
        for name, value, hib in speed
        if name in SPEED_METRICS
    ]


def _sample_rows(
    new_id: str, rows: list[dict[str, Any]], records: list[SampleRecord], scores: Scores
) -> list[dict[str, Any]]:
    sample_rows = []
    for row, rec, extra in zip(rows, records, scores.samples, strict=True):
        sample_rows.append(
            {
                "run_id": new_id,
                "sample_id": row["sample_id"],
                "audio_path": row.get("audio_path"),
                "duration_s": row.get("duration_s"),
                "compute_s": row.get("compute_s"),
                "error": row.get("error"),
                "output": row.get("output"),
                "artifact": row.get("artifact"),
                "level_dbfs": rec.level_dbfs,
                **{"reference": rec.sample.text, "hypothesis": None, **extra},
            }
        )
    return sample_rows


def _select(where: str | None, run_ids: list[str], results_dir: str | None) -> list[str]:
    con = connect(results_dir or default_results_dir())
    ids = list(run_ids)
    if where:
        ids += [r[0] for r in con.sql(f"SELECT run_id FROM runs WHERE ({where}) ORDER BY started_at").fetchall()]
    return list(dict.fromkeys(ids))


def rescore(
    overrides: list[str],
    where: str | None = None,
    run_ids: list[str] | None = None,
    results_dir: str | None = None,
    force: bool = False,
) -> list[Rescored]:
    return [rescore_run(r, overrides, results_dir, force) for r in _select(where, run_ids or [], results_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modellab rescore", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("overrides", nargs="*", help="e.g. task.options.primary_normalizer=basic")
    parser.add_argument("--run", action="append", default=[], help="a run id (repeatable)")
    parser.add_argument("--where", help="SQL condition on the runs view, e.g. \"model = 'faster_whisper'\"")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    parser.add_argument("--force", action="store_true", help="score again even if a run with that config exists")
    args = parser.parse_args(argv)
    if not args.run and not args.where:
        parser.error("pick runs with --run RUN_ID or --where SQL")
    import duckdb

    try:
        done = rescore(args.overrides, args.where, args.run, args.results_dir, args.force)
    except (RescoreError, ConfigError, duckdb.Error) as exc:
        print(f"modellab.run.rescore: {exc}", file=sys.stderr)
        return 2
    for item in done:
        state = "reused" if item.cached else "new run"
        print(f"{item.source_run_id} -> {item.run_id} ({state}){': ' + item.summary if item.summary else ''}")
    if not done:
        print("modellab.run.rescore: no run matched", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
