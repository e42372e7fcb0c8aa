"""How much data stands behind a number: every dataset name the site shows carries its sample count
and minutes of audio, and every leaderboard states the smallest difference of its primary metric its
set can resolve (half the width of the paired bootstrap interval of its top two rows).

Pure functions over run rows: :func:`modellab.site.load.load_results` puts each run's scored sample
count (``n_scored``, samples without an error) and their audio seconds (``scored_s``, Σ ``duration_s``)
on the row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modellab.site.catalog import format_value, metric_spec

__all__ = [
    "DATA_LABEL",
    "RESOLVES_LABEL",
    "BoardSize",
    "DataSize",
    "board_size",
    "dataset_label",
    "minutes_text",
    "resolution_text",
    "run_size",
    "size_text",
]

DATA_LABEL = "Data"
RESOLVES_LABEL = "Resolves"


@dataclass(frozen=True)
class DataSize:
    """``n`` scored samples holding ``seconds`` of audio (None where the samples carry no duration)."""

    n: int
    seconds: float | None

    @property
    def text(self) -> str:
        return size_text(self.n, self.seconds)


def minutes_text(seconds: float) -> str:
    """Audio seconds as minutes, with the precision a reader needs: ``0.42``, ``12.3``, ``185``."""
    minutes = seconds / 60
    if minutes < 10:
        return f"{minutes:.2f}"
    return f"{minutes:.1f}" if minutes < 100 else f"{minutes:.0f}"


def size_text(n: int, seconds: float | None) -> str:
    """``n=5, 0.42 min`` (``n=5`` alone when the duration is unknown)."""
    return f"n={n}" if seconds is None else f"n={n}, {minutes_text(seconds)} min"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def run_size(run: Mapping[str, Any]) -> DataSize | None:
    """The samples a run scored, from the row's ``n_scored`` and ``scored_s``; None when it has none."""
    n = _number(run.get("n_scored"))
    if n is None:
        return None
    return DataSize(int(n), _number(run.get("scored_s")))


def _span(values: Sequence[float], show: Any) -> str:
    low, high = min(values), max(values)
    return show(low) if show(low) == show(high) else f"{show(low)}–{show(high)}"


@dataclass(frozen=True)
class BoardSize:
    """The samples behind one board: ``text`` for its title, ``differs`` when its runs scored
    different numbers of samples (then ``note`` says so)."""

    text: str
    differs: bool
    note: str = ""


def board_size(runs: Sequence[Mapping[str, Any]]) -> BoardSize | None:
    """The board's ``n=…, … min``, a range where its runs differ; None when no run has sizes."""
    sizes = [s for s in (run_size(r) for r in runs) if s is not None]
    if not sizes:
        return None
    counts = [s.n for s in sizes]
    seconds = [s.seconds for s in sizes if s.seconds is not None]
    text = f"n={_span(counts, str)}"
    if seconds:
        text += f", {_span(seconds, minutes_text)} min"
    if min(counts) == max(counts):
        return BoardSize(text, False)
    note = (
        f"its runs scored different numbers of samples ({_span(counts, str)}): "
        "their values are not over the same samples"
    )
    return BoardSize(text, True, note)


def dataset_label(name: str, runs: Sequence[Mapping[str, Any]]) -> str:
    """``cards_golden_v1 (n=5, 0.42 min)``; the bare name when no run has sizes."""
    size = board_size(runs)
    return f"{name} ({size.text})" if size else name


def _amount(metric: str, value: float) -> str:
    spec = metric_spec(metric)
    if spec.unit == "rate":
        return f"{100 * value:.2f} {spec.label} points"
    return f"{format_value(metric, value)} ({spec.label})"


def resolution_text(
    metric: str, n_rows: int, half_width: float | None, level: float | None = None, n_paired: int | None = None
) -> str:
    """The board's "Resolves" note: the smallest difference of ``metric`` its top two can tell apart,
    i.e. ``half_width`` of their paired bootstrap interval (a rate in points: 0.0123 WER -> 1.23 WER points)."""
    if n_rows < 2:
        return "one run: nothing to resolve"
    if half_width is None:
        return f"no paired interval of the top two's {metric_spec(metric).label}: resolution unknown"
    share = f"{100 * level:.0f}% " if level is not None else ""
    over = f" over {n_paired} shared samples" if n_paired is not None else ""
    return (
        f"differences ≥ {_amount(metric, half_width)} "
        f"(half-width of the top two's {share}paired bootstrap interval{over})"
    )
