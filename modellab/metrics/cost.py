"""What an hour of audio costs to process: ``cost_per_audio_hour`` = price × compute hours ÷ audio hours.

The price is the hourly price of the machine the run is priced on (the ``hardware`` profile,
conf/hardware/, stored on the run row as ``price_per_hour``) times the share of it the run uses (on
CPU, threads ÷ the profile's cores, at most 1: the other cores can serve other streams; stored as
``price_charged_per_hour``); compute is the run's model-call seconds
(the ones RTFx divides by: after the warm-up, model load excluded, cold start reported apart), so
the cost is ``price_per_hour × RTF``: what a machine kept busy with this model spends per hour of
audio. Lower is better. Its bootstrap interval resamples the run's samples (Σ compute ÷ Σ audio),
registered with :mod:`modellab.metrics.stats` when this module is imported (the recorder imports it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modellab.metrics.stats import Decomposition, register_decomposition

__all__ = ["COST_METRIC", "PRICE_COLUMN", "cost_decomposition", "cost_per_audio_hour"]

COST_METRIC = "cost_per_audio_hour"
PRICE_COLUMN = "price_charged_per_hour"  # the run-row column the price is read from (run/provenance.py)


def cost_per_audio_hour(price_per_hour: float | None, compute_s: float, audio_s: float) -> float | None:
    """``price_per_hour`` × ``compute_s`` ÷ ``audio_s`` (the hours cancel); None without a price or audio."""
    if price_per_hour is None or not audio_s or audio_s <= 0:
        return None
    return float(price_per_hour) * compute_s / audio_s


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def cost_decomposition(metric: str, rows: list[dict[str, Any]], run: dict[str, Any]) -> Decomposition | None:
    """Per-sample ``[compute s, audio s]`` of the samples that did not fail; statistic price × ratio."""
    price = _number(run.get(PRICE_COLUMN))
    if price is None or not rows or "compute_s" not in rows[0]:
        return None
    comp = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        audio, compute = _number(row.get("duration_s")), _number(row.get("compute_s"))
        if row.get("error") not in (None, "") or audio is None or compute is None:
            continue
        comp[i] = (compute, audio)

    def statistic(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return price * sums[:, 0] / sums[:, 1]

    return Decomposition(comp, statistic, f"{price:g} $/h × Σ compute s / Σ audio s")


register_decomposition(rf"^{COST_METRIC}$", cost_decomposition)
