"""Whether a higher value of a metric is better: the one rule, used by compare, gates, findings,
promote and the site.

Directions are recorded with the results (``metrics.higher_is_better``, from each task's
``Metric``). A caller passes the flags it has, most trusted first (an explicit rule of a gate, then
the flags of the runs involved); the first that says wins; without one, the ``fallback`` (e.g. the
site catalogue's default for a known metric), else None: the metric has no direction.
"""

from __future__ import annotations

__all__ = ["higher_is_better"]


def higher_is_better(*flags: bool | None, fallback: bool | None = None) -> bool | None:
    """The first of ``flags`` that is not None (as a bool), else ``fallback``."""
    return next((bool(flag) for flag in flags if flag is not None), fallback)
