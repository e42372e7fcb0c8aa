"""``cpu_track.html``, the CPU track: accuracy vs cost vs RTFx of ASR runs on CPU, per thread count.

One section per dataset: a Pareto chart of the accuracy metric against ``cost_per_audio_hour`` (the
run's hardware profile price × compute ÷ audio, conf/hardware/; one colour per thread count) and a
table with each metric's interval, RTFx, peak memory and, where recorded, cold start. The accuracy
metric is WER, or hallucinated words per minute on a non-speech set. Runs without a cost (stored
before hardware profiles, or with ``hardware`` unset) are left out and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellab.results.latest import latest_complete
from modellab.site.charts import ScatterChart, ScatterInput, scatter_chart
from modellab.site.layout import PageWriter
from modellab.site.shaping import run_page

__all__ = ["ACCURACY_METRICS", "COST", "TrackRow", "TrackSection", "cpu_track_sections", "write_cpu_track_page"]

COST = "cost_per_audio_hour"
ACCURACY_METRICS = ("wer", "hallucination_wpm")  # the first a run has is its accuracy metric
_SHOWN = (*ACCURACY_METRICS, COST, "rtfx", "peak_rss_mb", "cold_start_s")
_SETUP = ("model", "dataset", "preprocessing", "threads", "batch_size", "compute_type", "hardware_profile")


@dataclass
class TrackRow:
    """One run's point of the CPU track: metric name -> (value, low, high)."""

    run: Mapping[str, Any]
    values: dict[str, tuple[float, float | None, float | None]]

    @property
    def accuracy(self) -> str:
        return next(m for m in ACCURACY_METRICS if m in self.values)

    def label(self) -> str:
        return f"{self.run.get('model')} ·{self.run.get('threads')}t"


@dataclass
class TrackSection:
    dataset: str
    metric: str
    rows: list[TrackRow]
    chart: ScatterChart | None
    threads: list[int] = field(default_factory=list)


def _metric_values(con: Any, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[float, Any, Any]]]:
    """run_id -> metric -> (value, ci_low, ci_high) of the shown metrics."""
    have = {row[0] for row in con.execute("DESCRIBE metrics").fetchall()}
    ci = "ci_low, ci_high" if {"ci_low", "ci_high"} <= have else "NULL, NULL"
    ids = ", ".join("'" + str(r).replace("'", "''") + "'" for r in run_ids)
    names = ", ".join(f"'{n}'" for n in _SHOWN)
    out: dict[str, dict[str, tuple[float, Any, Any]]] = {}
    for run_id, name, value, low, high in con.execute(
        f"SELECT run_id, name, value, {ci} FROM metrics WHERE run_id IN ({ids}) AND name IN ({names})"
    ).fetchall():
        out.setdefault(str(run_id), {})[str(name)] = (float(value), low, high)
    return out


def _cpu_asr_runs(con: Any) -> list[dict[str, Any]]:
    cols = [c[0] for c in con.execute("DESCRIBE runs_raw").fetchall()]
    if not {"task", "device", "run_id"} <= set(cols):
        return []
    result = con.execute("SELECT * FROM runs_raw WHERE task = 'asr' AND device = 'cpu'")
    names = [d[0] for d in result.description]
    runs = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return latest_complete(runs, key=lambda r: tuple(str(r.get(k)) for k in _SETUP))


def _section(dataset: str, rows: list[TrackRow]) -> TrackSection:
    metric = rows[0].accuracy
    rows = sorted(rows, key=lambda r: (r.values[metric][0], r.values[COST][0]))
    threads = sorted({int(r.run.get("threads") or 0) for r in rows})
    points = [
        ScatterInput(
            r.values[COST][0],
            r.values[metric][0],
            r.label(),
            run_page(str(r.run["run_id"])),
            threads.index(int(r.run.get("threads") or 0)),
            _interval(r.values[metric]),
        )
        for r in rows
    ]
    chart = scatter_chart(points, COST, metric, False, False) if points else None
    return TrackSection(dataset, metric, rows, chart, threads)


def _interval(value: tuple[float, Any, Any]) -> tuple[float, float] | None:
    _, low, high = value
    return (float(low), float(high)) if low is not None and high is not None else None


def cpu_track_sections(con: Any) -> tuple[list[TrackSection], int]:
    """The sections (one per dataset, by name) and how many CPU ASR runs had no cost to show."""
    runs = _cpu_asr_runs(con)
    values = _metric_values(con, [str(r["run_id"]) for r in runs]) if runs else {}
    by_dataset: dict[str, list[TrackRow]] = {}
    left_out = 0
    for run in runs:
        got = values.get(str(run["run_id"]), {})
        if COST not in got or not any(m in got for m in ACCURACY_METRICS):
            left_out += 1
            continue
        by_dataset.setdefault(str(run.get("dataset")), []).append(TrackRow(run, got))
    sections = []
    for dataset in sorted(by_dataset):
        rows = by_dataset[dataset]
        metric = rows[0].accuracy
        sections.append(_section(dataset, [r for r in rows if r.accuracy == metric]))
    return sections, left_out


def write_cpu_track_page(writer: PageWriter, con: Any) -> Path | None:
    """Write ``cpu_track.html``; None (no page) when no CPU ASR run has a cost."""
    sections, left_out = cpu_track_sections(con)
    if not sections:
        return None
    return writer.write(
        "cpu_track.html", "cpu_track.html", title="CPU track", sections=sections, left_out=left_out, cost=COST
    )
