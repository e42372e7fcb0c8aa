"""Chart geometry for inline SVG: scales, ticks and shapes computed here, drawn by the templates.

Three charts: accuracy vs speed with the Pareto front (:func:`scatter_chart`), per-sample error
distribution as small-multiple histograms (:func:`histogram_chart`) and a metric over time
(:func:`trend_chart`). Coordinates are plain numbers; all text goes through Jinja autoescape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from modellab.site.catalog import metric_spec
from modellab.site.shaping import bin_edges, histogram, pareto_front

__all__ = [
    "HistogramChart",
    "ScatterChart",
    "ScatterInput",
    "Tick",
    "TrendChart",
    "histogram_chart",
    "nice_ticks",
    "robust_upper",
    "scatter_chart",
    "tick_label",
    "trend_chart",
]

PALETTE_SIZE = 8


@dataclass
class Tick:
    pos: float
    label: str


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for exp in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10**exp
            if lo <= v <= hi:
                ticks.append(float(v))
    return ticks or [lo, hi]


def tick_label(metric: str, value: float) -> str:
    unit = metric_spec(metric).unit
    if unit == "rate":
        return f"{100 * value:g}%"
    if unit == "x":
        return f"{value:g}×"
    if unit in ("s", "ms"):
        return f"{value:g} {unit}"
    return f"{value:g}"


class _Scale:
    def __init__(self, lo: float, hi: float, start: float, end: float, log: bool = False) -> None:
        self.log = log
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        span = self.hi - self.lo or 1.0
        return round(self.start + (v - self.lo) / span * (self.end - self.start), 2)


@dataclass
class ScatterInput:
    x: float
    y: float
    label: str
    href: str
    series: int = 0
    y_interval: tuple[float, float] | None = None  # the run's interval of y, drawn as an error bar


@dataclass
class ScatterPoint:
    cx: float
    cy: float
    label: str
    href: str
    title: str
    front: bool
    series: int
    label_x: float = 0.0
    label_anchor: str = "start"
    err: tuple[float, float] | None = None  # (top, bottom) of the error bar in SVG coordinates


@dataclass
class ScatterChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    x_label: str
    y_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    points: list[ScatterPoint]
    front_path: str
    front_labels: list[str]
    log_x: bool


def scatter_chart(
    points: Sequence[ScatterInput],
    x_metric: str,
    y_metric: str,
    x_higher_is_better: bool,
    y_higher_is_better: bool,
    width: int = 640,
    height: int = 360,
) -> ScatterChart:
    """Points (e.g. RTFx on x, WER on y) with the Pareto front drawn as a staircase through its points."""
    left, right, top, bottom = 64, width - 16, 16, height - 44
    xs = [p.x for p in points]
    ys = [p.y for p in points] + [v for p in points if p.y_interval for v in p.y_interval]
    x_tick_values, x_lo, x_hi, log_x = _x_axis(xs)
    y_tick_values = nice_ticks(min([0.0, *ys]), max(ys) * 1.08 if ys else 1.0)
    sx = _Scale(x_lo, x_hi, left, right, log_x)
    sy = _Scale(y_tick_values[0], y_tick_values[-1], bottom, top)
    front = set(pareto_front([(p.x, p.y) for p in points], x_higher_is_better, y_higher_is_better))
    drawn = [
        ScatterPoint(
            sx(p.x),
            sy(p.y),
            p.label,
            p.href,
            f"{p.label}: {metric_spec(y_metric).label} {tick_label(y_metric, round(p.y, 6))}, "
            f"{metric_spec(x_metric).label} {tick_label(x_metric, round(p.x, 3))}",
            i in front,
            p.series % PALETTE_SIZE,
            err=(sy(max(p.y_interval)), sy(min(p.y_interval))) if p.y_interval else None,
        )
        for i, p in enumerate(points)
    ]
    for d in drawn:  # labels of points near the right edge go to their left
        d.label_anchor = "end" if d.cx > right - 120 else "start"
        d.label_x = d.cx - 8 if d.label_anchor == "end" else d.cx + 8
    path = _front_path(sorted((drawn[i] for i in front), key=lambda d: d.cx))
    return ScatterChart(
        width,
        height,
        left,
        top,
        right,
        bottom,
        f"{metric_spec(x_metric).label} ({'higher' if x_higher_is_better else 'lower'} is better"
        + (", log scale)" if log_x else ")"),
        f"{metric_spec(y_metric).label} ({'higher' if y_higher_is_better else 'lower'} is better)",
        [Tick(sx(v), tick_label(x_metric, v)) for v in x_tick_values if x_lo <= v <= x_hi],
        [Tick(sy(v), tick_label(y_metric, v)) for v in y_tick_values],
        drawn,
        path,
        [drawn[i].label for i in sorted(front, key=lambda i: drawn[i].cx)],
        log_x,
    )


def _x_axis(xs: Sequence[float]) -> tuple[list[float], float, float, bool]:
    """Tick values, range and scale of the x axis: logarithmic when the values span more than 30×."""
    log_x = bool(xs) and min(xs) > 0 and max(xs) / min(xs) > 30
    if log_x:
        ticks = _log_ticks(min(xs) / 1.3, max(xs) * 1.3)
        return ticks, min(min(xs) / 1.3, ticks[0]), max(max(xs) * 1.3, ticks[-1]), True
    ticks = nice_ticks(min([0.0, *xs]), max(xs) * 1.08 if xs else 1.0)
    return ticks, ticks[0], ticks[-1], False


def _front_path(ordered: Sequence[ScatterPoint]) -> str:
    """SVG path through the Pareto front's points (left to right), a staircase where both coordinates change."""
    if not ordered:
        return ""
    path = f"M{ordered[0].cx},{ordered[0].cy}"
    for a, b in zip(ordered, ordered[1:], strict=False):
        path += f" L{b.cx},{a.cy} L{b.cx},{b.cy}" if _staircase(a, b) else f" L{b.cx},{b.cy}"
    return path


def _staircase(a: ScatterPoint, b: ScatterPoint) -> bool:
    return a.cx != b.cx and a.cy != b.cy


@dataclass
class HistogramBar:
    x: float
    y: float
    w: float
    h: float
    count: int
    title: str


@dataclass
class HistogramRow:
    label: str
    href: str
    top: float
    n: int
    bars: list[HistogramBar]
    series: int


@dataclass
class HistogramChart:
    width: int
    height: int
    left: int
    right: int
    row_height: int
    x_label: str
    x_ticks: list[Tick]
    rows: list[HistogramRow] = field(default_factory=list)
    axis_y: float = 0.0


def robust_upper(values: Sequence[float]) -> float | None:
    """An upper axis limit that one outlier cannot stretch: the 95th percentile (× 1.1) when the
    maximum is more than twice it, else None (the maximum is fine)."""
    finite = sorted(float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v))
    if len(finite) < 5:
        return None
    p95 = finite[min(len(finite) - 1, math.ceil(0.95 * len(finite)) - 1)]
    if p95 <= 0 or finite[-1] <= 2 * p95:
        return None
    return p95 * 1.1


def histogram_chart(
    series: Sequence[tuple[str, str, Sequence[float], int]],
    metric: str,
    bins: int = 10,
    width: int = 640,
    row_height: int = 44,
) -> HistogramChart:
    """One histogram row per (label, href, per-sample values, colour index), sharing the bins."""
    left, right = 170, width - 16
    everything = [v for _, _, values, _ in series for v in values]
    cap = robust_upper(everything)  # values above it are counted in the last bin ("≥ cap")
    if cap is not None:
        series = [(lbl, href, [min(float(v), cap) for v in vals], c) for lbl, href, vals, c in series]
        everything = [min(float(v), cap) for v in everything]
    edges = bin_edges(everything, bins)
    sx = _Scale(edges[0], edges[-1], left, right)
    rows = []
    for index, (label, href, values, colour) in enumerate(series):
        counts = histogram(values, edges)
        peak = max(counts) or 1
        top = 8 + index * row_height
        bars = []
        for i, count in enumerate(counts):
            x0, x1 = sx(edges[i]), sx(edges[i + 1])
            h = round((row_height - 12) * count / peak, 2)
            bars.append(
                HistogramBar(
                    x0,
                    round(top + row_height - 12 - h, 2),
                    round(max(x1 - x0 - 1, 1), 2),
                    h,
                    count,
                    f"{label}: {count} samples with {metric_spec(metric).label} in "
                    f"[{tick_label(metric, round(edges[i], 4))}, {tick_label(metric, round(edges[i + 1], 4))}]"
                    + (
                        " or above (outliers clipped into the last bin)"
                        if cap is not None and i == len(counts) - 1
                        else ""
                    ),
                )
            )
        rows.append(HistogramRow(label, href, top, sum(counts), bars, colour % PALETTE_SIZE))
    axis_y = 8 + len(series) * row_height - 10
    ticks = [Tick(sx(v), tick_label(metric, v)) for v in nice_ticks(edges[0], edges[-1]) if edges[0] <= v <= edges[-1]]
    return HistogramChart(
        width,
        int(axis_y + 34),
        left,
        right,
        row_height,
        f"per-sample {metric_spec(metric).label}"
        + (f", values above {tick_label(metric, round(cap, 4))} in the last bin" if cap is not None else ""),
        ticks,
        rows,
        axis_y,
    )


@dataclass
class TrendPoint:
    cx: float
    cy: float
    href: str
    title: str


@dataclass
class TrendSeries:
    label: str
    series: int
    path: str
    points: list[TrendPoint]


@dataclass
class TrendChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    y_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[TrendSeries]


def trend_chart(
    series: Mapping[str, Sequence[tuple[datetime, float, str]]],
    metric: str,
    hrefs: Mapping[str, str],
    colours: Mapping[str, int],
    width: int = 640,
    height: int = 260,
) -> TrendChart:
    """One line per setup label; x is time (runs' start), y the metric."""
    left, right, top, bottom = 64, width - 16, 16, height - 44
    times = [p[0].timestamp() for pts in series.values() for p in pts]
    values = [p[1] for pts in series.values() for p in pts]
    t_lo, t_hi = (min(times), max(times)) if times else (0.0, 1.0)
    if t_hi - t_lo < 60:
        t_lo, t_hi = t_lo - 30, t_hi + 30
    y_ticks = nice_ticks(min([0.0, *values]), max(values) if values else 1.0)
    sx = _Scale(t_lo, t_hi, left + 8, right - 8)
    sy = _Scale(y_ticks[0], y_ticks[-1], bottom, top)
    drawn = []
    for label, points in series.items():
        pts = [
            TrendPoint(
                sx(when.timestamp()),
                sy(value),
                hrefs.get(run_id, ""),
                f"{label} · {when:%Y-%m-%d %H:%M} · {metric_spec(metric).label} {tick_label(metric, round(value, 6))}",
            )
            for when, value, run_id in points
        ]
        path = " ".join(("M" if i == 0 else "L") + f"{p.cx},{p.cy}" for i, p in enumerate(pts))
        drawn.append(TrendSeries(label, colours.get(label, 0) % PALETTE_SIZE, path, pts))
    span = t_hi - t_lo
    fmt = "%H:%M:%S" if span < 3_600 else "%m-%d %H:%M" if span < 7 * 86_400 else "%Y-%m-%d"
    x_ticks = [
        Tick(sx(t_lo + span * f), datetime.fromtimestamp(t_lo + span * f, tz=timezone.utc).strftime(fmt))
        for f in (0.0, 0.5, 1.0)
    ]
    return TrendChart(
        width,
        height,
        left,
        top,
        right,
        bottom,
        metric_spec(metric).label,
        x_ticks,
        [Tick(sy(v), tick_label(metric, v)) for v in y_ticks],
        drawn,
    )
