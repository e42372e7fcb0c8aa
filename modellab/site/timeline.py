"""Speaker timelines for diarization pages: reference and hypothesis turns as one inline SVG.

One lane per track (reference, hypothesis, a second hypothesis on compare pages), a time axis, and
each speaker a colour of the site's palette (the ``.c0``–``.c7`` classes, which have dark-mode
values). Hypothesis labels are arbitrary (``SPEAKER_00``), so each hypothesis speaker takes the
colour of the reference speaker it overlaps most (greedy, one-to-one); speakers left over take the
next free colours. No script, no library: the SVG is static markup, texts escaped.
"""

from __future__ import annotations

import functools
import html
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

__all__ = [
    "Track",
    "Turn",
    "reference_turns_for",
    "speaker_colours",
    "timeline_svg",
    "turns_from",
]

logger = logging.getLogger(__name__)

PALETTE_SIZE = 8  # the site's .c0 ... .c7 classes
WIDTH = 1000  # SVG user units; the SVG scales to its container
LABEL_W = 120
LANE_H = 22
AXIS_H = 20


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


@dataclass
class Track:
    """One lane: a label (``Reference``, ``Hypothesis``, a model name) and its turns."""

    label: str
    turns: list[Turn]


def turns_from(value: Any) -> list[Turn] | None:
    """Turns from a stored diarization output (``{"turns": [{start, end, speaker}, ...]}``, its JSON
    text, or the list itself); None when ``value`` holds no turns."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(value, Mapping):
        value = value.get("turns")
    if not isinstance(value, (list, tuple)):
        return None
    turns = []
    for t in value:
        if not isinstance(t, Mapping):
            return None
        try:
            turns.append(Turn(float(t["start"]), float(t["end"]), str(t["speaker"])))
        except (KeyError, TypeError, ValueError):
            return None
    return turns


def _overlap(a: Sequence[Turn], b: Sequence[Turn]) -> float:
    return sum(max(0.0, min(x.end, y.end) - max(x.start, y.start)) for x in a for y in b)


def _first_seen(turns: Sequence[Turn]) -> list[str]:
    seen: list[str] = []
    for t in sorted(turns, key=lambda t: (t.start, t.end)):
        if t.speaker not in seen:
            seen.append(t.speaker)
    return seen


def speaker_colours(reference: Sequence[Turn], hypotheses: Sequence[Sequence[Turn]]) -> list[dict[str, int]]:
    """Colour index per speaker of the reference, then of each hypothesis (mapped to the reference
    speaker it overlaps most, one-to-one; others take the next free colours)."""
    ref_colours = {s: i for i, s in enumerate(_first_seen(reference))}
    result = [ref_colours]
    for hyp in hypotheses:
        by_speaker = {s: [t for t in hyp if t.speaker == s] for s in _first_seen(hyp)}
        ref_turns = {s: [t for t in reference if t.speaker == s] for s in ref_colours}
        pairs = sorted(
            (
                (_overlap(h_turns, r_turns), h, r)
                for h, h_turns in by_speaker.items()
                for r, r_turns in ref_turns.items()
            ),
            key=lambda p: -p[0],
        )
        colours: dict[str, int] = {}
        taken: set[str] = set()
        for amount, h, r in pairs:
            if amount > 0 and h not in colours and r not in taken:
                colours[h], taken = ref_colours[r], taken | {r}
        free = iter(range(len(ref_colours), len(ref_colours) + len(by_speaker)))
        for h in by_speaker:
            if h not in colours:
                colours[h] = next(free)
        result.append(colours)
    return result


def _ticks(duration: float) -> list[float]:
    step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600) if duration / s <= 10), 1200.0)
    return [i * step for i in range(int(duration / step) + 1)]


def timeline_svg(tracks: Sequence[Track], duration: float | None = None) -> Markup:
    """An inline SVG of ``tracks`` over ``duration`` seconds (default: the last turn's end)."""
    end = max([t.end for track in tracks for t in track.turns] + [duration or 0.0, 1e-6])
    colours = speaker_colours(tracks[0].turns if tracks else [], [t.turns for t in tracks[1:]])
    scale = (WIDTH - LABEL_W - 10) / end
    height = AXIS_H + LANE_H * len(tracks)
    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="speaker timeline, {len(tracks)} lanes, {end:.1f} s">'
    ]
    for lane, (track, colour) in enumerate(zip(tracks, colours, strict=True)):
        y = lane * LANE_H
        parts.append(
            f'<text x="0" y="{y + 15}" style="fill:var(--fg);font-size:12px">{html.escape(track.label[:18])}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{WIDTH - LABEL_W - 10}" height="{LANE_H - 4}" '
            'style="fill:none;stroke:var(--line)"/>'
        )
        for t in track.turns:
            x, w = LABEL_W + t.start * scale, max(0.5, (t.end - t.start) * scale)
            tip = html.escape(f"{track.label}: {t.speaker} {t.start:.2f}–{t.end:.2f} s")
            parts.append(
                f'<rect class="c{colour[t.speaker] % PALETTE_SIZE}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{LANE_H - 6}" style="stroke:none;opacity:.85"><title>{tip}</title></rect>'
            )
    axis_y = LANE_H * len(tracks)
    for tick in _ticks(end):
        x = LABEL_W + tick * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 4}" style="stroke:var(--muted)"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" '
            f'style="fill:var(--muted);font-size:11px">{tick:g} s</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@functools.lru_cache(maxsize=16)
def _dataset_samples(dataset: str) -> dict[str, Any]:
    """sample_id -> Sample of a dataset config (empty when it cannot be loaded here)."""
    from modellab.config.registry import load_component

    try:
        return {s.sample_id: s for s in load_component("dataset", dataset).samples()}
    except Exception as exc:  # noqa: BLE001 - a page without the reference lane, not a failed build
        logger.info("[site] %s: reference turns unavailable (%s)", dataset, exc)
        return {}


def reference_turns_for(dataset: str, sample_id: str, duration_s: float | None) -> list[Turn] | None:
    """A sample's reference turns from the dataset's RTTM as it is now (offset applied), None without one."""
    from modellab.tasks.diarization import reference_turns

    sample = _dataset_samples(dataset).get(sample_id)
    if sample is None:
        return None
    try:
        turns = reference_turns(sample, float(duration_s or sample.duration_s or 0.0))
    except (OSError, ValueError) as exc:
        logger.info("[site] %s/%s: reference RTTM unreadable (%s)", dataset, sample_id, exc)
        return None
    return None if turns is None else [Turn(t.start, t.end, str(t.speaker)) for t in turns]
