"""Compare pages: two runs on the same data, utterance by utterance.

``compare/<baseline>--<candidate>.html`` shows the change of one metric (the board's primary, e.g.
WER) with its paired-bootstrap interval, n and minutes (:func:`modellab.analysis.compare.compare_runs`),
every metric side by side, then each shared utterance, worst regression first: the reference, both
hypotheses as word diffs against it (after the run's normaliser), the per-utterance values and the
audio (stored once, :mod:`modellab.site.audio_store`); diarization outputs as speaker timelines.

The site writes one page per leaderboard row against that board's best run (:func:`write_board_compares`,
so the page count is bounded by the board rows); ``python -m modellab compare A B --html OUT``
writes one page anywhere (:func:`write_compare_html`). Runs that did not score the same data
(content hash, normaliser, task options) get no page: :class:`NotComparableError` names the fields.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from modellab.analysis.compare import Comparison, SampleChange, compare_runs
from modellab.analysis.rundata import RunData, load_run
from modellab.site.audio_store import prepare_audio, store_audio
from modellab.site.catalog import metric_spec
from modellab.site.layout import PageWriter, environment, now
from modellab.site.run_pages import diff_html, normalised
from modellab.site.shaping import Board, Row, slug, word_diff
from modellab.site.timeline import Track, timeline_svg, turns_from

__all__ = [
    "AUDIO_ROWS",
    "COMPARE_DIR",
    "MAX_UTTERANCES",
    "Headline",
    "NotComparableError",
    "Utterance",
    "audio_sources",
    "board_comparisons",
    "compare_page",
    "comparison_context",
    "headline",
    "require_comparable",
    "signed_delta",
    "utterances",
    "write_board_compares",
    "write_compare_html",
    "write_compare_page",
]

logger = logging.getLogger(__name__)

COMPARE_DIR = "compare"
MAX_UTTERANCES = 100  # utterances listed on one page (worst regressions first)
AUDIO_ROWS = 30  # of which this many come with their audio
RESAMPLES = 1000
STATIC = Path(__file__).resolve().parent / "static"

Media = Callable[[str | None], str | None]


class NotComparableError(ValueError):
    """Two runs that did not score the same data: no compare page. The message names the fields."""


def compare_page(baseline_id: str, candidate_id: str) -> str:
    """The site-relative path of the page comparing ``candidate_id`` against ``baseline_id``."""
    return f"{COMPARE_DIR}/{slug(baseline_id)}--{slug(candidate_id)}.html"


@dataclass
class Headline:
    """The change of one metric, candidate − baseline, with its paired interval over n samples."""

    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    low: float | None
    high: float | None
    level: float | None
    significant: bool
    higher_is_better: bool | None
    n: int
    minutes: float | None
    resamples: int

    def signed(self, value: float | None) -> str:
        """A difference as people read it: rate metrics in percentage points (``+2.20 pts``)."""
        return signed_delta(self.metric, value)

    @property
    def verdict(self) -> str:
        """What the interval allows one to say (never a winner the data cannot separate)."""
        if self.delta is None:
            return "no value to compare"
        if self.low is None or not self.significant:
            return "not separable: the interval includes 0"
        worse = (self.delta > 0) != bool(self.higher_is_better)
        return "candidate worse" if worse else "candidate better"


def signed_delta(metric: str | None, value: float | None) -> str:
    """``value`` (a difference of ``metric``) with its sign: rates in points, others to 4 digits."""
    if value is None:
        return "—"
    if metric and metric_spec(metric).unit == "rate":
        return f"{100 * value:+.2f} pts"
    return f"{value:+.4g}"


@dataclass
class Utterance:
    """One shared sample on a compare page."""

    sample_id: str
    status: str  # worse | better | same | newly_failed | fixed | both_failed
    baseline: float | None
    candidate: float | None
    delta: float | None
    reference: str | None
    diffs: tuple[Markup | None, Markup | None]  # the word diffs (or plain texts) of baseline and candidate
    audio: str | None
    outputs_audio: tuple[str | None, str | None]
    timeline: Markup | None
    error: str | None


def _pick_metric(cmp: Comparison, metric: str | None) -> str | None:
    """``metric`` if both runs have it, else the per-sample ranking metric, else the first with an interval."""
    for name in (metric, cmp.rank_metric):
        if name and (m := cmp.metric(name)) is not None and m.delta is not None:
            return name
    return next((m.name for m in cmp.metrics if m.ci is not None), None)


def headline(cmp: Comparison, metric: str | None = None) -> Headline | None:
    """The headline change (see :func:`_pick_metric`); None when the runs share no metric."""
    name = _pick_metric(cmp, metric)
    md = cmp.metric(name) if name else None
    if md is None or name is None:
        return None
    ci = md.ci
    return Headline(
        name,
        md.baseline,
        md.candidate,
        md.delta,
        ci.low if ci else None,
        ci.high if ci else None,
        ci.level if ci else None,
        bool(ci and ci.significant),
        md.higher_is_better,
        cmp.n_paired,
        cmp.paired_minutes,
        cmp.resamples,
    )


def _text_diff(reference: Any, text: Any, normaliser: str) -> Markup | None:
    if not isinstance(text, str):
        return None
    if not isinstance(reference, str):
        return Markup("<span>{}</span>").format(text)
    ops = word_diff(normalised(normaliser, reference), normalised(normaliser, text)) if normaliser else None
    return diff_html(ops if ops is not None else word_diff(reference, text))


def _timeline(base: Mapping[str, Any], cand: Mapping[str, Any], labels: tuple[str, str]) -> Markup | None:
    a, b = turns_from(base.get("output")), turns_from(cand.get("output"))
    if a is None and b is None:
        return None
    tracks = [Track(label, turns) for label, turns in zip(labels, (a, b), strict=True) if turns is not None]
    duration = base.get("duration_s")
    return timeline_svg(tracks, float(duration) if isinstance(duration, (int, float)) else None)


def _utterance(
    change: SampleChange, base: Mapping[str, Any], cand: Mapping[str, Any], cmp: Comparison, media: Media
) -> Utterance:
    """One table row; ``media`` stores (or, past :data:`AUDIO_ROWS`, skips) its audio."""
    names = (str(cmp.baseline.row.get("normalizer") or ""), str(cmp.candidate.row.get("normalizer") or ""))
    reference = base.get("reference")
    audio = base.get("audio_path")
    return Utterance(
        change.sample_id,
        change.status,
        change.baseline,
        change.candidate,
        change.delta,
        reference if isinstance(reference, str) else None,
        (
            _text_diff(reference, base.get("hypothesis"), names[0]),
            _text_diff(reference, cand.get("hypothesis"), names[1]),
        ),
        media(audio if isinstance(audio, str) else None),
        tuple(media(a if isinstance(a := row.get("artifact"), str) else None) for row in (base, cand)),  # type: ignore[arg-type]
        _timeline(base, cand, ("baseline", "candidate")),
        change.candidate_error,
    )


def _no_media(source: str | None) -> str | None:
    return None


def _paired_rows(cmp: Comparison) -> list[tuple[SampleChange, Mapping[str, Any], Mapping[str, Any]]]:
    """(change, baseline row, candidate row) of the shared samples, worst regression of the candidate first."""
    base = {str(s.get("sample_id")): s for s in cmp.baseline.samples}
    cand = {str(s.get("sample_id")): s for s in cmp.candidate.samples}
    return [(c, base[c.sample_id], cand[c.sample_id]) for c in cmp.samples]


def audio_sources(cmp: Comparison, rows: int = AUDIO_ROWS) -> list[str | None]:
    """The audio files a compare page shows (the first ``rows`` utterances' input and output audio)."""
    return [
        row.get(key)
        for _, base, cand in _paired_rows(cmp)[:rows]
        for row, key in ((base, "audio_path"), (base, "artifact"), (cand, "artifact"))
    ]


def utterances(
    cmp: Comparison, media: Media, limit: int = MAX_UTTERANCES, audio_rows: int = AUDIO_ROWS
) -> list[Utterance]:
    """The shared samples, worst regression of the candidate first (newly failed ones on top), at most
    ``limit``; the first ``audio_rows`` with their audio."""
    return [
        _utterance(change, base, cand, cmp, media if index < audio_rows else _no_media)
        for index, (change, base, cand) in enumerate(_paired_rows(cmp)[:limit])
    ]


def comparison_context(cmp: Comparison, media: Media, metric: str | None = None) -> dict[str, Any]:
    """What ``compare.html`` renders."""
    counts: dict[str, int] = {}
    for change in cmp.samples:
        counts[change.status] = counts.get(change.status, 0) + 1
    return {
        "signed": signed_delta,
        "cmp": cmp,
        "headline": headline(cmp, metric),
        "utterances": utterances(cmp, media),
        "n_changes": len(cmp.samples),
        "counts": counts,
        "limit": MAX_UTTERANCES,
        "audio_rows": AUDIO_ROWS,
    }


def _compare(baseline: RunData, candidate: RunData, metric: str | None, all_intervals: bool) -> Comparison:
    """The comparison, or :class:`NotComparableError` naming the fields that differ."""
    columns = set(baseline.samples[0]) & set(candidate.samples[0]) if baseline.samples and candidate.samples else set()
    rank_by = metric if metric in columns else None
    cmp = compare_runs(
        baseline, candidate, RESAMPLES, 0, rank_by=rank_by, ci_metrics=None if all_intervals else {metric or ""}
    )
    require_comparable(cmp)
    return cmp


def require_comparable(cmp: Comparison) -> None:
    """Raise :class:`NotComparableError` (naming the fields that differ) unless the runs scored the
    same data and share samples."""
    a, b = cmp.baseline.run_id, cmp.candidate.run_id
    if not cmp.comparability.comparable:
        raise NotComparableError(
            f"runs {a} and {b} are not comparable (they did not score the same data): {cmp.comparability.reason()}"
        )
    if not cmp.n_paired:
        raise NotComparableError(f"runs {a} and {b} share no sample")


def write_compare_page(writer: PageWriter, rel: str, cmp: Comparison, media: Media, metric: str | None = None) -> Path:
    """Render ``compare.html`` for ``cmp`` into ``writer.site_dir/rel``."""
    title = f"{cmp.candidate.model} vs {cmp.baseline.model} on {cmp.dataset}"
    return writer.write(rel, "compare.html", title=title, **comparison_context(cmp, media, metric))


def _best_run(board: Board) -> str | None:
    """The board's best run: its first row (boards are sorted best first) when it has a primary value."""
    if not board.primary or len(board.rows) < 2:
        return None
    index = next((i for i, c in enumerate(board.columns) if c.key == board.primary), None)
    first = board.rows[0]
    return first.run_id if index is not None and first.cells[index].sort is not None else None


def board_comparisons(con: Any, boards: Sequence[Board]) -> list[tuple[Board, Row, Comparison]]:
    """(board, row, comparison of the row's run against the board's best) for every other row that
    is comparable with the best and shares samples with it (others are logged and left out)."""
    loaded: dict[str, RunData] = {}

    def run(run_id: str) -> RunData:
        if run_id not in loaded:
            loaded[run_id] = load_run(con, run_id)
        return loaded[run_id]

    found = []
    for board in boards:
        best = _best_run(board)
        for row in board.rows if best is not None else []:
            if row.run_id == best:
                continue
            try:
                found.append((board, row, _compare(run(str(best)), run(row.run_id), board.primary, False)))
            except NotComparableError as exc:
                logger.info("[site] no compare page: %s", exc)
    return found


def write_board_compares(writer: PageWriter, con: Any, boards: Sequence[Board], media: Media) -> dict[str, str]:
    """For each board, a page per other row against the board's best run (:func:`board_comparisons`);
    sets ``row.compare`` to it. Returns {page: the row's run id}."""
    found = board_comparisons(con, boards)
    prepare_audio(source for _, _, cmp in found for source in audio_sources(cmp))
    written: dict[str, str] = {}
    for board, row, cmp in found:
        rel = compare_page(cmp.baseline.run_id, row.run_id)
        write_compare_page(writer, rel, cmp, media, board.primary)
        row.compare = rel
        written[rel] = row.run_id
    return written


def write_compare_html(cmp: Comparison, out: str | Path, metric: str | None = None) -> Path:
    """``out`` (an ``.html`` file) showing ``cmp``, with the site's style and audio beside it
    (``static/`` and ``audio/`` in its folder). Raises :class:`NotComparableError` and writes nothing
    when the runs did not score the same data or share no sample."""
    require_comparable(cmp)
    path = Path(out)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, folder / "static", dirs_exist_ok=True)
    prepare_audio(audio_sources(cmp))
    media = functools.lru_cache(maxsize=None)(lambda source: store_audio(source, folder))
    writer = PageWriter(environment(), folder, [], {"built_at": now(), "standalone": True})
    return write_compare_page(writer, path.name, cmp, media, metric)
