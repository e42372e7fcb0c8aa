"""Diarization metrics (DER with its parts, JER) through pyannote.metrics, and RTTM reading/writing.

Collar convention: ``collar_s`` is the TOTAL width of the no-score zone around each reference
boundary, as in pyannote.metrics (``collar_s / 2`` on each side). NIST md-eval's ``-c 0.25`` is
per side, i.e. ``collar_s = 0.5`` here. ``skip_overlap=True`` leaves regions where reference
speakers overlap out of scoring; ``False`` scores every speaker there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellab.types import SpeakerTurn

__all__ = [
    "DiarizationScore",
    "DiarizationScorer",
    "RTTMError",
    "read_rttm",
    "rttm_lines",
    "write_rttm",
]


class RTTMError(ValueError):
    """An RTTM file is malformed; the message names the file, the line and the problem."""


def read_rttm(path: str | Path, uri: str | None = None) -> list[SpeakerTurn]:
    """``SPEAKER <uri> <channel> <start> <duration> <NA> <NA> <speaker> ...`` lines as turns.

    Only ``SPEAKER`` lines count; an empty file is a valid reference with no speech. With
    ``uri``, every line must be about that recording.
    """
    path = Path(path)
    turns: list[SpeakerTurn] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RTTMError(f"{path}: cannot read RTTM ({exc.strerror or exc})") from exc
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")) or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise RTTMError(f"{path}:{lineno}: a SPEAKER line needs at least 8 fields, got {len(fields)}")
        if uri is not None and fields[1] != uri:
            raise RTTMError(f"{path}:{lineno}: line about recording '{fields[1]}' in the RTTM of '{uri}'")
        try:
            start, duration = float(fields[3]), float(fields[4])
        except ValueError:
            raise RTTMError(
                f"{path}:{lineno}: start and duration must be numbers, got {fields[3]!r} {fields[4]!r}"
            ) from None
        if start < 0 or duration < 0:
            raise RTTMError(f"{path}:{lineno}: negative start or duration ({start}, {duration})")
        turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def rttm_lines(turns: Iterable[SpeakerTurn], uri: str) -> list[str]:
    uri = uri.replace(" ", "_") or "file"
    return [
        f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker.replace(' ', '_')} <NA> <NA>"
        for t in sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
        if t.end > t.start
    ]


def write_rttm(turns: Iterable[SpeakerTurn], path: str | Path, uri: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = rttm_lines(turns, uri)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _annotation(turns: Iterable[SpeakerTurn], uri: str) -> Any:
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, t in enumerate(turns):
        if t.end > t.start:
            annotation[Segment(t.start, t.end), i] = t.speaker
    return annotation


@dataclass
class DiarizationScore:
    """One file's (or the pooled) scores; times are seconds of scored reference speech."""

    der: float | None
    missed: float
    false_alarm: float
    confusion: float
    total: float
    jer: float | None
    ref_speakers: int | None  # per file only (None on the pooled score)
    hyp_speakers: int | None

    @property
    def speaker_counts(self) -> tuple[int, int]:
        """(reference, hypothesis) speakers of one file's score; the pooled score counts none."""
        if self.ref_speakers is None or self.hyp_speakers is None:
            raise ValueError("the pooled diarization score has no speaker counts")
        return self.ref_speakers, self.hyp_speakers

    @property
    def miss_rate(self) -> float | None:
        return self.missed / self.total if self.total else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.false_alarm / self.total if self.total else None

    @property
    def confusion_rate(self) -> float | None:
        return self.confusion / self.total if self.total else None


@dataclass
class DiarizationScorer:
    """Accumulates DER and JER over files (pooled: Σ errors ÷ Σ scored reference speech).

    Each file is scored inside ``[0, duration_s]`` (its UEM). Files whose reference has no
    speech have no DER; they are scored for speaker count only.
    """

    collar_s: float
    skip_overlap: bool
    _der: Any = field(default=None, init=False, repr=False)
    _jer: Any = field(default=None, init=False, repr=False)
    files: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

        self._der = DiarizationErrorRate(collar=self.collar_s, skip_overlap=self.skip_overlap)
        self._jer = JaccardErrorRate(collar=self.collar_s, skip_overlap=self.skip_overlap)

    def add(self, reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn], duration_s: float) -> DiarizationScore:
        from pyannote.core import Segment, Timeline

        uri = f"file{self.files}"
        self.files += 1
        ref = _annotation(reference, uri)
        hyp = _annotation(hypothesis, uri)
        n_ref, n_hyp = len(ref.labels()), len(hyp.labels())
        if not ref:
            return DiarizationScore(None, 0.0, 0.0, 0.0, 0.0, None, n_ref, n_hyp)
        uem = Timeline([Segment(0.0, max(duration_s, ref.get_timeline().extent().end))], uri=uri)
        d = self._der(ref, hyp, uem=uem, detailed=True)
        j = self._jer(ref, hyp, uem=uem, detailed=True)
        return DiarizationScore(
            der=d["diarization error rate"] if d["total"] else None,
            missed=d["missed detection"],
            false_alarm=d["false alarm"],
            confusion=d["confusion"],
            total=d["total"],
            jer=j["jaccard error rate"] if j["speaker count"] else None,
            ref_speakers=n_ref,
            hyp_speakers=n_hyp,
        )

    def pooled(self) -> DiarizationScore | None:
        """The corpus-level scores, or ``None`` when no file had reference speech."""
        acc = self._der.accumulated_
        if not acc.get("total"):
            return None
        return DiarizationScore(
            der=abs(self._der),
            missed=acc["missed detection"],
            false_alarm=acc["false alarm"],
            confusion=acc["confusion"],
            total=acc["total"],
            jer=abs(self._jer) if self._jer.accumulated_.get("speaker count") else None,
            ref_speakers=None,
            hyp_speakers=None,
        )
