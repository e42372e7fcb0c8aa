"""Data shaping for the site: pure functions from run rows (dicts from the ``runs`` view) to tables.

Nothing here touches DuckDB, Jinja or the file system, so every rule (which run a leaderboard
shows, which value is best, which points are on the Pareto front, how a word diff aligns) is
unit-tested on hand-written rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

import numpy as np

from modellab.metrics.direction import higher_is_better
from modellab.results.latest import COMPLETE_STATUSES, latest_complete
from modellab.site.catalog import CONTEXT_FIELDS, KNOWN_METRICS, SPEED_METRICS, format_value, main_metrics, metric_spec
from modellab.site.power import run_size

__all__ = [
    "Board",
    "Cell",
    "Column",
    "DiffOp",
    "Row",
    "bin_edges",
    "build_board",
    "context_notes",
    "dataset_page",
    "direction",
    "experiment_page",
    "flatten",
    "hardware_text",
    "histogram",
    "is_number",
    "latest_per_setup",
    "mark_best",
    "model_page",
    "pareto_front",
    "parse_json",
    "run_page",
    "series_label",
    "setup_key",
    "setup_text",
    "slug",
    "star_marks",
    "one_comparison",
    "primary_metric",
    "model_identity",
    "sweep_axes",
    "trend_series",
    "variant_labels",
    "word_diff",
]

OK_STATUSES = COMPLETE_STATUSES


# --- names and paths -------------------------------------------------------------------------
def slug(value: Any) -> str:
    """A file-name-safe form of ``value``; a short hash keeps unsafe names distinct."""
    text = str(value)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80]
    if safe != text or not safe:
        safe = f"{safe or 'x'}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return safe


def run_page(run_id: str) -> str:
    return f"runs/{slug(run_id)}.html"


def model_page(name: str) -> str:
    return f"models/{slug(name)}.html"


def dataset_page(name: str) -> str:
    return f"datasets/{slug(name)}.html"


def experiment_page(sweep_id: str) -> str:
    return f"experiments/{slug(sweep_id)}.html"


# --- small helpers ---------------------------------------------------------------------------
def parse_json(value: Any) -> Any:
    """JSON columns (config, versions, hardware, model_params) come back as strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def direction(name: str, directions: Mapping[str, bool | None]) -> bool | None:
    """higher_is_better of ``name``: the results' own flag, else the catalogue's fallback."""
    return higher_is_better(directions.get(name), fallback=metric_spec(name).fallback_higher_is_better)


def _canonical(value: Any) -> str:
    return json.dumps(parse_json(value), sort_keys=True, default=str)


def setup_key(run: Mapping[str, Any]) -> tuple:
    """What makes two runs of the same model on the same data different setups."""
    return (
        run.get("model"),
        _canonical(run.get("model_params")),
        run.get("device"),
        run.get("compute_type"),
        run.get("threads"),
        run.get("batch_size"),
        run.get("preprocessing"),
    )


def setup_text(run: Mapping[str, Any]) -> str:
    """``cpu · int8 · 2 thr``: device, precision (only for runtimes that honour it) and threads."""
    parts = [str(run.get("device") or "?")]
    if run.get("compute_type") and _honours_precision(run):
        parts.append(str(run["compute_type"]))
    if run.get("threads") is not None:
        parts.append(f"{run['threads']} thr")
    if run.get("batch_size") not in (None, 1):
        parts.append(f"batch {run['batch_size']}")
    return " · ".join(parts)


def hardware_text(hardware: Any) -> str:
    """``{"cpu": "AMD EPYC", "cores": "2", ...}`` -> ``AMD EPYC, 2 cores`` (plus GPU when recorded)."""
    hw = parse_json(hardware)
    if not isinstance(hw, dict):
        return str(hw or "unknown")
    parts = []
    if hw.get("cpu"):
        parts.append(str(hw["cpu"]))
    if hw.get("cores"):
        parts.append(f"{hw['cores']} cores")
    for key in ("gpu", "gpu_name", "accelerator"):
        if hw.get(key):
            parts.append(str(hw[key]))
    return ", ".join(parts) or "unknown"


def latest_per_setup(runs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest complete (ok/partial) run of each setup per task × dataset, newest first."""
    return latest_complete(runs, key=lambda run: (run.get("task"), run.get("dataset"), *setup_key(run)))


def variant_labels(runs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """run_id -> the model options that set it apart from other runs of the same model ('' if none)."""
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_model.setdefault(str(run.get("model")), []).append(run)
    labels: dict[str, str] = {}
    for group in by_model.values():
        params = [parse_json(r.get("model_params")) for r in group]
        params = [p if isinstance(p, dict) else {} for p in params]
        keys = sorted({k for p in params for k in p})
        differing = [k for k in keys if len({_canonical(p.get(k)) for p in params}) > 1]
        for run, p in zip(group, params, strict=True):
            labels[str(run.get("run_id"))] = ", ".join(f"{k}={_short(p.get(k))}" for k in differing)
    return labels


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- leaderboard tables ----------------------------------------------------------------------
@dataclass
class Column:
    key: str
    label: str
    numeric: bool = False
    higher_is_better: bool | None = None
    title: str = ""
    metric: bool = False

    @property
    def arrow(self) -> str:
        if not self.metric or self.higher_is_better is None:
            return ""
        return "↑" if self.higher_is_better else "↓"


@dataclass
class Cell:
    text: str
    sort: float | str | None = None
    href: str | None = None
    best: bool = False
    title: str = ""
    sub: str = ""
    cls: str = ""
    tied: bool = False  # not significantly different from the best (see modellab.site.significance)
    interval: tuple[float, float] | None = None  # the run's stored interval of this value, if any


@dataclass
class Row:
    run_id: str
    cells: list[Cell]
    compare: str | None = None  # its "vs best" page (modellab.site.compare_pages), set when written


@dataclass
class Board:
    """One sortable table: models (or runs) × main metrics for one task × dataset."""

    id: str
    task: str
    dataset: str
    title: str
    columns: list[Column]
    rows: list[Row]
    notes: list[tuple[str, str]] = field(default_factory=list)
    primary: str | None = None
    metrics: list[str] = field(default_factory=list)
    runs: list[Mapping[str, Any]] = field(default_factory=list)
    comparison: Any = None  # the best-vs-runner-up paired comparison (modellab.site.significance.RunnerUp)


def context_notes(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(label, value) pairs stated next to the numbers: normaliser, collar, hardware, timing."""
    notes = [("Normaliser", _joined(_normalisers(runs)))]
    for key, (label, unit) in CONTEXT_FIELDS.items():
        notes.append((label, " / ".join(f"{v} {unit}".strip() for v in _distinct(r.get(key) for r in runs))))
    notes.append(("Hardware", _joined(hardware_text(r.get("hardware")) for r in runs if r.get("hardware"))))
    notes.append(("Intervals", _joined(_interval_methods(runs))))
    notes.append(("Timing", _timing(runs)))
    return [(label, text) for label, text in notes if text]


def _distinct(values: Iterable[Any]) -> list[str]:
    """The values as text, first-seen order, without repeats, blanks and NaN."""
    seen: list[str] = []
    for v in values:
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            continue
        if str(v) not in seen:
            seen.append(str(v))
    return seen


def _joined(values: Iterable[Any]) -> str:
    return " / ".join(_distinct(values))


def _normalisers(runs: Sequence[Mapping[str, Any]]) -> Iterable[Any]:
    return (
        f"{r['normalizer']} ({r['normalizer_version']})" if r.get("normalizer_version") else r.get("normalizer")
        for r in runs
    )


def _interval_methods(runs: Sequence[Mapping[str, Any]]) -> Iterable[str]:
    return (
        f"{100 * float(r['ci_level']):.0f}% bootstrap over samples, {int(r['ci_resamples'])} resamples"
        for r in runs
        if is_number(r.get("ci_level")) and is_number(r.get("ci_resamples"))
    )


def _timing(runs: Sequence[Mapping[str, Any]]) -> str:
    """What the timings cover (``""`` when no run says), and whether an untimed warm-up call came first."""
    scopes = _distinct(r.get("timing_scope") for r in runs)
    if not scopes:
        return ""
    text = " / ".join(s.replace("_", " ") for s in scopes)
    if _distinct(r.get("warmup") for r in runs) == ["True"]:
        text += ", after one untimed warm-up call"
    return text


def interval_text(name: str, interval: Any) -> str:
    """``"4.10–7.20%"``-style text of a stored ``(low, high)`` interval; empty when there is none."""
    if not isinstance(interval, (tuple, list)) or len(interval) != 2 or not all(is_number(v) for v in interval):
        return ""
    low, high = format_value(name, interval[0]), format_value(name, interval[1])
    return "" if low == high else f"{low} – {high}"  # a one-sample (zero-width) interval is no interval


def _metric_cell(name: str, value: Any, interval: Any = None, level: Any = None) -> Cell:
    if not is_number(value):
        return Cell("", None)
    spec = metric_spec(name)
    if value == 0 and spec.zero_means:
        return Cell(spec.zero_means, None, title=f"{name} = 0: {spec.zero_means} ({spec.description})")
    title = f"{name} = {value:.6g}"
    sub = interval_text(name, interval)
    if sub:
        share = f"{100 * float(level):.0f}% " if is_number(level) else ""
        title += f"; {share}bootstrap interval over samples {sub}"
    bounds = (float(interval[0]), float(interval[1])) if sub else None
    return Cell(format_value(name, value), float(value), title=title, sub=sub, interval=bounds)


def build_board(
    board_id: str,
    title: str,
    task: str,
    dataset: str,
    runs: Sequence[Mapping[str, Any]],
    directions: Mapping[str, bool | None],
    lead: Sequence[str] = ("model", "preprocessing", "setup"),
    axes: Sequence[str] = (),
    flat_configs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Board:
    """A table of ``runs``: the run permalink, ``lead`` columns, the task's main metrics with their
    intervals, speed metrics; ★/☆ only when every row is one comparison (:func:`one_comparison`).

    ``lead`` picks the leading columns (``model``, ``dataset``, ``task``, ``preprocessing``,
    ``setup``); ``axes`` adds one column per swept config key (values from ``flat_configs``).
    With ``task`` empty (a list of runs of any task) each row shows its own task's primary metric.
    """
    present = {k for r in runs for k, v in r.items() if is_number(v)}
    known = [k for k in present if k in directions or k in KNOWN_METRICS]
    mains = main_metrics(task, directions, known) if task else []
    speed = [m for m in SPEED_METRICS if m in present]
    layout = _Layout(
        list(lead), list(axes), mains, mains + [m for m in speed if m not in mains], variant_labels(runs), flat_configs
    )
    layout.own_primary = not task
    layout.directions = directions
    board = Board(
        board_id,
        task,
        dataset,
        title,
        _board_columns(layout, directions),
        [_board_row(run, layout) for run in runs],
        context_notes(runs),
        mains[0] if mains else None,
        layout.metrics,
        list(runs),
    )
    _collapse_constant_columns(board)
    if one_comparison(runs):
        mark_best(board)
    return board


def one_comparison(runs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``runs`` are one comparison: a single task × dataset × language (where ★ may be given)."""
    return all(len({str(r.get(key) or "") for r in runs}) <= 1 for key in ("task", "dataset", "language"))


def primary_metric(run: Mapping[str, Any], directions: Mapping[str, bool | None]) -> str | None:
    """The run's own task's primary metric among the metrics it has (WER, DER, F1, BLEU, ...)."""
    present = [k for k, v in run.items() if is_number(v) and (k in directions or k in KNOWN_METRICS)]
    mains = main_metrics(str(run.get("task") or ""), directions, present)
    return mains[0] if mains else None


# Model families whose adapters honour the device's compute type (precision); others ignore it.
PRECISION_FAMILIES = frozenset({"faster-whisper", "transformers-whisper", "distil-whisper", "wav2vec2", "seamless-m4t"})


def _model_section(run: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``config.model.<key>`` of a stored run (``info``, ``weights``), ``{}`` when absent."""
    config = parse_json(run.get("config"))
    model = config.get("model") if isinstance(config, dict) else None
    section = model.get(key) if isinstance(model, dict) else None
    return section if isinstance(section, dict) else {}


def _family(run: Mapping[str, Any]) -> str:
    return str(_model_section(run, "info").get("family") or run.get("model_family") or "")


def _honours_precision(run: Mapping[str, Any]) -> bool:
    """Whether the run's compute type means anything: its family is one that honours it, or unknown."""
    family = _family(run)
    return not family or family in PRECISION_FAMILIES


def model_identity(run: Mapping[str, Any]) -> str:
    """What exactly ran: checkpoint/revision, parameters, runtime (family) and precision, from the
    run's stored config (``model.weights``, ``model.info``) and row, e.g. ``tiny.en · 39M · faster-whisper int8``."""
    family = _family(run)
    runtime = family
    if run.get("compute_type") and family in PRECISION_FAMILIES:
        runtime = f"{family} {run['compute_type']}".strip()
    parameters = str(_model_section(run, "info").get("parameters") or "")
    parts = [_checkpoint(_model_section(run, "weights")), parameters, runtime]
    return " · ".join(p for p in parts if p)


def _checkpoint(weights: Mapping[str, Any]) -> str:
    for key in ("revision", "repo_id"):
        if weights.get(key):
            return str(weights[key])
    path = str(weights.get("path") or "")
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if "." in name:  # a file (voice.onnx, tiny.en.pt), not a folder like data/ or model/
        return name
    return str(weights.get("package") or "")


@dataclass
class _Layout:
    """The columns of a board: leading ones, swept config keys, metrics (the task's main ones first)."""

    lead: list[str]
    axes: list[str]
    mains: list[str]
    metrics: list[str]
    variants: dict[str, str]  # run_id -> the model options that set it apart
    flat_configs: Mapping[str, Mapping[str, Any]] | None
    own_primary: bool = False  # one "Primary metric" column: each row's own task's (a table of mixed tasks)
    directions: Mapping[str, bool | None] = field(default_factory=dict)


_LEAD_LABELS = {"setup": "Device", "preprocessing": "Preprocessing"}


def _board_columns(layout: _Layout, directions: Mapping[str, bool | None]) -> list[Column]:
    columns = [Column("run", "Run", title="when the run started; opens its permalink")]
    columns += [Column(key, _LEAD_LABELS.get(key, key.capitalize())) for key in layout.lead]
    columns += [Column(f"axis:{key}", key, title=f"swept config key {key}") for key in layout.axes]
    if layout.own_primary:
        columns.append(Column("primary_metric", "Metric", title="the primary metric of the run's own task"))
        columns.append(Column("primary", "Value", True, title="the run's primary metric, with its interval"))
    for name in layout.metrics:
        spec = metric_spec(name)
        columns.append(
            Column(name, spec.label, True, direction(name, directions), spec.description or name, metric=True)
        )
    columns.append(Column("samples", "Samples", True, title="samples scored / in the dataset"))
    return columns


def _board_row(run: Mapping[str, Any], layout: _Layout) -> Row:
    run_id = str(run.get("run_id"))
    started = str(run.get("started_at") or "")
    cells = [Cell(started[:16].replace("T", " "), started, run_page(run_id), title=run_id, cls="nowrap")]
    cells += [_lead_cell(key, run, layout.variants.get(run_id, "")) for key in layout.lead]
    flat = (layout.flat_configs or {}).get(run_id, {})
    cells += [Cell(text, text) for text in (_short(flat.get(key, "")) for key in layout.axes)]
    intervals = run.get("intervals") or {}
    if layout.own_primary:
        cells += _own_primary_cells(run, layout.directions)
    for name in layout.metrics:
        shown = intervals.get(name) if name in layout.mains else None  # under the task's own metrics only
        cell = _metric_cell(name, run.get(name), shown, run.get("ci_level"))
        if name == "load_s" and run.get(name) == 0:
            cell = _reused_cell(run)
        cells.append(cell)
    cells.append(_samples_cell(run))
    return Row(run_id, cells)


def _reused_cell(run: Mapping[str, Any]) -> Cell:
    """``load_s`` = 0: the model was loaded by an earlier run in the same process; name that run and its load time."""
    source = run.get("load_from")
    if not source:
        return Cell("reused", None, title="load 0 s: the model was already loaded in this process by an earlier run")
    run_id, seconds = source
    took = format_value("load_s", seconds)
    return Cell(
        "reused",
        None,
        run_page(str(run_id)),
        title=f"the model was already loaded in this process by run {run_id}, whose load took {took}",
        sub=f"loaded in {took}",
    )


def _own_primary_cells(run: Mapping[str, Any], directions: Mapping[str, bool | None]) -> list[Cell]:
    """The run's own primary metric: its name (with the direction) and its value with the interval."""
    name = primary_metric(run, directions)
    if name is None:
        return [Cell("", None), Cell("", None)]
    spec = metric_spec(name)
    hib = direction(name, directions)
    arrow = "" if hib is None else (" ↑" if hib else " ↓")
    value = _metric_cell(name, run.get(name), (run.get("intervals") or {}).get(name), run.get("ci_level"))
    return [Cell(f"{spec.label}{arrow}", spec.label, title=spec.description or name), value]


# A run whose worst sample carries more than this share of its word errors is flagged on the boards
# (the same threshold as the default regression gate's max_error_share).
MAX_ERROR_SHARE = 0.3


def _samples_cell(run: Mapping[str, Any]) -> Cell:
    """Samples scored / in the run, with what should make a reader wary of the pooled value: failed
    samples, samples that failed a transcript gate (loops, hallucinations), one sample carrying most errors."""
    n = int(run.get("n_samples") or 0)
    failed = int(run.get("n_failed") or 0)
    flags, titles = [], []
    if failed:
        flags.append(f"{failed} failed")
    gate_failed = run.get("n_gate_failed")
    if is_number(gate_failed) and gate_failed:
        flags.append(f"{int(gate_failed)} gate-failed")
        titles.append(f"{int(gate_failed)} samples failed a transcript gate (empty output, loop, length, rate)")
    share = run.get("error_share")
    if is_number(share) and n > 1 and float(share) > MAX_ERROR_SHARE:
        sample = run.get("error_share_sample")
        flags.append(f"⚠ {100 * float(share):.0f}% of errors in {sample}")
        titles.append(f"one sample ({sample}) carries {100 * float(share):.0f}% of the run's word errors")
    return Cell(
        f"{n - failed}/{n}",
        float(n - failed),
        href=f"{run_page(str(run.get('run_id')))}#samples" if flags else None,
        sub=" · ".join(flags),
        cls="warn" if flags else "",
        title="; ".join(titles),
    )


def _lead_cell(key: str, run: Mapping[str, Any], variant: str) -> Cell:
    if key == "model":
        name = str(run.get("model"))
        identity = model_identity(run)
        sub = " · ".join(p for p in (identity, variant) if p)
        return Cell(
            name, f"{name} {variant}".strip(), model_page(name), sub=sub, title="checkpoint · parameters · runtime"
        )
    if key == "dataset":
        name = str(run.get("dataset"))
        size = run_size(run)
        if size is None:
            return Cell(name, name, dataset_page(name))
        return Cell(name, name, dataset_page(name), sub=size.text, title=f"this run scored {size.text}")
    if key == "setup":
        text = setup_text(run)
        return Cell(text, text, title=hardware_text(run.get("hardware")))
    text = "" if run.get(key) is None else str(run.get(key))
    return Cell(text, text)


# Leading columns that become a note above the table when every row has the same value.
COLLAPSIBLE = {"preprocessing": "Preprocessing", "setup": "Device", "task": "Task"}


def _collapse_constant_columns(board: Board) -> None:
    for key, label in COLLAPSIBLE.items():
        index = next((i for i, c in enumerate(board.columns) if c.key == key), None)
        if index is None or not board.rows:
            continue
        values = {row.cells[index].text for row in board.rows}
        if len(values) != 1:
            continue
        board.notes.insert(0, (label, values.pop()))
        del board.columns[index]
        for row in board.rows:
            del row.cells[index]


def star_marks(
    values: Sequence[float | None],
    intervals: Sequence[tuple[float, float] | None],
    higher_is_better: bool,
    separated: bool | None = None,
) -> list[str]:
    """Per row ``"best"`` (★), ``"tied"`` (☆) or ``""``: the rule of every ★ on the site.

    The best value gets ★ only when it is separated from the runner-up: ``separated`` when given
    (the paired interval of their difference excludes zero), else when their own intervals do not
    overlap. When they are not separated, the best, the runner-up and every row whose interval
    overlaps the best's are ``"tied"``. Rows with the best value exactly are tied with each other.
    With no paired verdict and no intervals nothing is claimed (no mark); nor with fewer than two values.
    """
    numbered = [(i, float(v)) for i, v in enumerate(values) if v is not None and is_number(v)]
    marks = [""] * len(values)
    if len(numbered) < 2:
        return marks
    sign = -1.0 if higher_is_better else 1.0  # smaller sign * value is better
    order = sorted(numbered, key=lambda item: (sign * item[1], item[0]))
    best_value = order[0][1]
    leaders = [i for i, v in order if math.isclose(v, best_value, rel_tol=1e-12, abs_tol=1e-15)]
    rest = [i for i, _ in order if i not in leaders]
    runner_up = rest[0] if rest else None
    if separated is None and runner_up is not None:
        separated = _disjoint(intervals[leaders[0]], intervals[runner_up])
    if separated is None and len(leaders) == 1:
        return marks  # no interval, no claim
    if separated and len(leaders) == 1:
        marks[leaders[0]] = "best"
        return marks
    best_interval = intervals[leaders[0]]
    for i in leaders + ([runner_up] if runner_up is not None and separated is not True else []):
        marks[i] = "tied"
    for i in rest:
        if best_interval is not None and _overlap(best_interval, intervals[i]) and separated is not True:
            marks[i] = "tied"
    return marks


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def _disjoint(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool | None:
    """Whether two intervals do not overlap; None when one is missing."""
    if a is None or b is None:
        return None
    return not _overlap(a, b)


def mark_best(board: Board, separated: Mapping[str, bool | None] | None = None) -> None:
    """★/☆ per metric column with a direction, by :func:`star_marks`; ``separated`` maps a column key
    to the paired verdict of its best vs runner-up (the leaderboards' primary metric)."""
    for index, column in enumerate(board.columns):
        if not column.metric or column.higher_is_better is None:
            continue
        cells = [row.cells[index] for row in board.rows]
        values = [c.sort if isinstance(c.sort, float) else None for c in cells]
        verdict = (separated or {}).get(column.key)
        marks = star_marks(values, [c.interval for c in cells], column.higher_is_better, verdict)
        for cell, mark in zip(cells, marks, strict=True):
            cell.best, cell.tied = mark == "best", mark == "tied"


# --- charts' data ----------------------------------------------------------------------------
def pareto_front(
    points: Sequence[tuple[float, float]], x_higher_is_better: bool, y_higher_is_better: bool
) -> list[int]:
    """Indices of the points no other point beats on both axes (sorted by x, best x last)."""
    sx = 1.0 if x_higher_is_better else -1.0
    sy = 1.0 if y_higher_is_better else -1.0
    front = []
    for i, (xi, yi) in enumerate(points):
        dominated = False
        for j, (xj, yj) in enumerate(points):
            if i == j:
                continue
            at_least = sx * xj >= sx * xi and sy * yj >= sy * yi
            strictly = sx * xj > sx * xi or sy * yj > sy * yi
            if at_least and strictly:
                dominated = True
                break
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (sx * points[i][0], sy * points[i][1]))


def bin_edges(values: Sequence[float], bins: int = 10) -> list[float]:
    """``bins`` equal-width bins from min(0, min) to the max (one bin of width 1 if all equal)."""
    finite = [float(v) for v in values if is_number(v)]
    if not finite:
        return [0.0, 1.0]
    lo = min(0.0, min(finite))
    hi = max(finite)
    if hi <= lo:
        return [lo, lo + 1.0]
    width = (hi - lo) / bins
    return [lo + i * width for i in range(bins)] + [hi]


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts per bin (:func:`numpy.histogram`): bins are half-open but the last is closed (it
    includes the max); values outside the edges and anything not a finite number are dropped."""
    finite = [float(v) for v in values if is_number(v)]
    counts, _ = np.histogram(np.asarray(finite, dtype=float), bins=np.asarray(edges, dtype=float))
    return [int(c) for c in counts]


def trend_series(runs: Iterable[Mapping[str, Any]], metric: str) -> dict[str, list[tuple[datetime, float, str]]]:
    """Label of a setup -> [(started_at, value, run_id)] over time, complete runs with a value only."""
    runs = [r for r in runs if r.get("status") in OK_STATUSES and is_number(r.get(metric))]
    variants = variant_labels(runs)
    series: dict[str, list[tuple[datetime, float, str]]] = {}
    for run in runs:
        try:
            when = datetime.fromisoformat(str(run.get("started_at")))
        except ValueError:
            continue
        label = series_label(run, variants.get(str(run.get("run_id")), ""))
        series.setdefault(label, []).append((when, float(run[metric]), str(run.get("run_id"))))
    for points in series.values():
        points.sort(key=lambda p: p[0])
    return dict(sorted(series.items()))


def series_label(run: Mapping[str, Any], variant: str = "") -> str:
    """A short name of a run's setup for chart legends: model [variant] +preprocessing @device."""
    label = str(run.get("model"))
    if variant:
        label += f" [{variant}]"
    if run.get("preprocessing") not in (None, "none"):
        label += f" +{run['preprocessing']}"
    if run.get("device") not in (None, "cpu"):
        label += f" @{run['device']}"
    return label


# --- word diff -------------------------------------------------------------------------------
@dataclass
class DiffOp:
    """``op`` is ``equal``, ``sub`` (ref words replaced by hyp words), ``del`` (ref only) or ``ins`` (hyp only)."""

    op: str
    ref: str = ""
    hyp: str = ""


_OPCODE_TAGS = {"equal": "equal", "replace": "sub", "delete": "del", "insert": "ins"}


def word_diff(reference: str, hypothesis: str) -> list[DiffOp]:
    """Minimum-edit word alignment of reference vs hypothesis (Levenshtein over words, as WER
    counts it; rapidfuzz's bit-parallel C implementation, so long texts cost little), merged into runs."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = reference.split(), hypothesis.split()
    return _merge(
        (_OPCODE_TAGS[o.tag], " ".join(ref[o.src_start : o.src_end]), " ".join(hyp[o.dest_start : o.dest_end]))
        for o in Levenshtein.opcodes(ref, hyp)
    )


def _merge(steps: Iterable[tuple[str, str, str]]) -> list[DiffOp]:
    ops: list[DiffOp] = []
    for op, r, h in steps:
        if ops and ops[-1].op == op:
            last = ops[-1]
            last.ref = f"{last.ref} {r}".strip()
            last.hyp = f"{last.hyp} {h}".strip()
        else:
            ops.append(DiffOp(op, r, h))
    return ops


# --- experiments (sweeps) --------------------------------------------------------------------
def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b.c": value}`` (lists stay values)."""
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict) and value:
                out.update(flatten(value, path))
            else:
                out[path] = value
    elif prefix:
        out[prefix] = node
    return out


_GROUPS = ("model", "task", "dataset", "device", "preprocessing")


def sweep_axes(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The config keys whose values differ across a sweep's runs -> their values (first-seen order).

    A whole group that changes (``model.name`` differs) is one axis named after the group; its
    other keys, which change with it, are not listed separately.
    """
    flats = [flatten(dict(c)) for c in configs]
    keys = sorted({k for f in flats for k in f})
    differing = {k for k in keys if len({_canonical(f.get(k)) for f in flats}) > 1}
    axes: dict[str, list[str]] = {}
    swapped = {g for g in _GROUPS if f"{g}.name" in differing}
    for key in keys:
        if key not in differing:
            continue
        group = key.split(".", 1)[0]
        if group in swapped:
            if key != f"{group}.name":
                continue
            name = group
        else:
            name = key
        values: list[str] = []
        for f in flats:
            text = _short(f.get(key))
            if text not in values:
                values.append(text)
        axes[name] = values
    return axes
