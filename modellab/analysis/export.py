"""``python -m modellab export RUN --format trn|ctm|stm|rttm|uem|jsonl [--normalizer NAME] [--reference] [-o FILE]``.

Writes a stored run in the field's formats, so other tools can score it again (NIST sclite,
md-eval.pl) or it can be submitted elsewhere. RUN is a run id or ``MODEL[:KEY=VALUE...]`` (the
latest complete run, as in ``compare``; ``--dataset`` picks among datasets).

- ``trn``: sclite transcripts, ``text (utterance_id)`` per sample; the hypotheses, or the references
  with ``--reference``. Score with ``sclite -r ref.trn trn -h hyp.trn trn -i spu_id -s``.
- ``ctm``: ``file 1 start duration word [confidence]`` per hypothesis word; needs word times.
- ``stm``: the references, ``file 1 speaker 0.000 duration text`` per sample (sclite's ``stm`` side).
- ``rttm``: diarization turns, ``SPEAKER file 1 start duration <NA> <NA> speaker <NA> <NA>``; the
  run's hypotheses, or the dataset's reference turns with ``--reference``.
- ``uem``: the scored region of each recording, ``file 1 0.000 duration`` (md-eval's ``-u``).
- ``jsonl``: the Open ASR Leaderboard's manifest shape, one JSON object per sample with
  ``audio_filepath, duration, time, text, pred_text`` (``time``: the model's compute seconds).

``--normalizer NAME`` (none, basic, whisper_en) normalises every text first, as the lab does
before scoring; without it the stored text is written (whitespace collapsed to one line).
Failed samples are left out (a note says how many) unless ``--include-failed`` writes them with
an empty hypothesis (scored as all deletions, the lab's ``wer_incl_failed``).

Escaping: ids (file and utterance names) have whitespace and ``(``/``)`` replaced by ``_`` and
are refused if that makes two of them equal; texts are collapsed to one line. ``trn``/``stm`` refuse
text holding ``(``, ``)``, ``{`` or ``}`` (sclite reads them as optional-word and alternation marks)
and ``stm`` text starting with ``<`` or ``;;`` (a label or a comment): ``--normalizer basic`` drops them.
Exit codes: 0 written, 2 a usage error or a run that cannot be written in that format.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellab.analysis.rundata import RunData, RunNotFoundError, load_run, resolve_run
from modellab.logs import setup_cli_logging
from modellab.metrics.normalizers import get_normalizer

__all__ = [
    "FORMATS",
    "ExportError",
    "Export",
    "export_run",
    "format_id",
    "main",
    "one_line",
]

logger = logging.getLogger(__name__)

FORMATS = ("trn", "ctm", "stm", "rttm", "uem", "jsonl")
_ID_UNSAFE = re.compile(r"[\s()]+", re.UNICODE)
_SCLITE_MARKS = set("(){}")


class ExportError(ValueError):
    """The run cannot be written in the asked format; the message names the run, the sample and why."""


@dataclass
class Export:
    """An exported run: the file's text, and notes about what was left out or changed."""

    text: str
    lines: int
    notes: list[str]


def one_line(text: str | None) -> str:
    """``text`` on one line: newlines, tabs and runs of whitespace become one space."""
    return " ".join(str(text or "").split())


def format_id(sample_id: str) -> str:
    """A file or utterance id safe in every format: whitespace and ``(``/``)`` become ``_``."""
    return _ID_UNSAFE.sub("_", str(sample_id).strip()) or "_"


def _ids(run: RunData, rows: list[dict[str, Any]]) -> dict[str, str]:
    """sample id -> escaped id, refusing escapes that would merge two samples."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for row in rows:
        sid = str(row["sample_id"])
        safe = format_id(sid)
        if safe in seen and seen[safe] != sid:
            raise ExportError(
                f"run {run.run_id}: samples '{seen[safe]}' and '{sid}' both become id '{safe}' once "
                "whitespace and parentheses are escaped; rename one in the dataset"
            )
        seen[safe] = sid
        out[sid] = safe
    return out


def _failed(row: dict[str, Any]) -> bool:
    return row.get("error") not in (None, "")


def _output(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("output")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"text": value}
    return value if isinstance(value, dict) else {}


def _hypothesis(row: dict[str, Any]) -> str:
    if row.get("hypothesis") is not None:
        return str(row["hypothesis"])
    return str(_output(row).get("text") or "")


def _sclite_text(run: RunData, sid: str, text: str, fmt: str, side: str) -> str:
    bad = sorted(_SCLITE_MARKS & set(text))
    if bad:
        raise ExportError(
            f"run {run.run_id}, sample '{sid}': the {side} holds {' '.join(bad)}, which sclite reads as "
            f"optional-word or alternation marks in {fmt}; export with --normalizer basic (drops punctuation)"
        )
    if fmt == "stm" and text.startswith(("<", ";;")):
        raise ExportError(
            f"run {run.run_id}, sample '{sid}': the reference starts with '{text[:2]}', which stm reads as a "
            "label or a comment; export with --normalizer basic"
        )
    return text


def _duration(row: dict[str, Any]) -> float:
    return float(row.get("duration_s") or 0.0)


class _Writer:
    def __init__(self, run: RunData, normalize: Callable[[str | None], str], include_failed: bool) -> None:
        self.run, self.normalize, self.include_failed = run, normalize, include_failed
        self.notes: list[str] = []
        self.rows = self._usable(run.samples)
        self.ids = _ids(run, self.rows)

    def _usable(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        failed = [r for r in rows if _failed(r)]
        if failed and not self.include_failed:
            self.notes.append(
                f"{len(failed)} failed sample(s) left out (--include-failed writes them with an empty hypothesis)"
            )
            return [r for r in rows if not _failed(r)]
        return list(rows)

    def hyp(self, row: dict[str, Any]) -> str:
        return "" if _failed(row) else self.normalize(one_line(_hypothesis(row)))

    def with_reference(self) -> list[dict[str, Any]]:
        kept = [r for r in self.rows if r.get("reference") is not None]
        if len(kept) < len(self.rows):
            self.notes.append(f"{len(self.rows) - len(kept)} sample(s) without a reference left out")
        return kept

    # --- formats -------------------------------------------------------------------------------
    def trn(self, reference: bool) -> list[str]:
        side = "reference" if reference else "hypothesis"
        rows = self.with_reference() if reference else self.rows
        lines = []
        for row in rows:
            sid = str(row["sample_id"])
            text = self.normalize(one_line(row["reference"])) if reference else self.hyp(row)
            lines.append(f"{_sclite_text(self.run, sid, text, 'trn', side)} ({self.ids[sid]})".lstrip())
        return lines

    def stm(self) -> list[str]:
        lines = [';; CATEGORY "0" "" ""', ';; LABEL "O" "Overall" "Overall"']
        for row in self.with_reference():
            sid = str(row["sample_id"])
            text = _sclite_text(self.run, sid, self.normalize(one_line(row["reference"])), "stm", "reference")
            uid = self.ids[sid]
            lines.append(f"{uid} 1 {uid} 0.000 {_duration(row):.3f} {text}".rstrip())
        return lines

    def ctm(self) -> list[str]:
        lines = []
        for row in self.rows:
            if _failed(row):
                continue
            words = _output(row).get("words") or []
            if not words and self.hyp(row):
                raise ExportError(
                    f"run {self.run.run_id} ({self.run.model}): sample '{row['sample_id']}' has no word times, which "
                    "ctm needs; rerun with word timestamps (e.g. model.options.word_timestamps=true) or export trn"
                )
            uid = self.ids[str(row["sample_id"])]
            for word in words:
                lines += self._ctm_word(uid, word)
        return lines

    def _ctm_word(self, uid: str, word: dict[str, Any]) -> list[str]:
        """One stored word as ctm lines: normalised, it may vanish or split (its time shared evenly)."""
        tokens = self.normalize(one_line(word.get("word"))).split()
        start, end = float(word["start"]), float(word["end"])
        step = max(0.0, end - start) / len(tokens) if tokens else 0.0
        prob = word.get("probability")
        conf = f" {float(prob):.4f}" if prob is not None else ""
        return [f"{uid} 1 {start + i * step:.3f} {step:.3f} {token}{conf}" for i, token in enumerate(tokens)]

    def rttm(self, turns_of: Callable[[dict[str, Any]], list[Any]]) -> list[str]:
        lines = []
        for row in self.rows:
            uid = self.ids[str(row["sample_id"])]
            for start, end, speaker in sorted(turns_of(row)):
                if end > start:
                    spk = format_id(speaker)
                    lines.append(f"SPEAKER {uid} 1 {start:.3f} {end - start:.3f} <NA> <NA> {spk} <NA> <NA>")
        return lines

    def uem(self) -> list[str]:
        return [f"{self.ids[str(r['sample_id'])]} 1 0.000 {_duration(r):.3f}" for r in self.rows]

    def jsonl(self) -> list[str]:
        lines = []
        for row in self.rows:
            item = {
                "audio_filepath": row.get("audio_path"),
                "duration": _duration(row),
                "time": float(row.get("compute_s") or 0.0),
                "text": self.normalize(one_line(row.get("reference"))) if row.get("reference") is not None else None,
                "pred_text": self.hyp(row),
            }
            lines.append(json.dumps(item, ensure_ascii=False))  # JSON escapes newlines and quotes itself
        return lines


def _hypothesis_turns(run: RunData) -> Callable[[dict[str, Any]], list[tuple[float, float, str]]]:
    def turns(row: dict[str, Any]) -> list[tuple[float, float, str]]:
        output = _output(row)
        if "turns" not in output:
            raise ExportError(f"run {run.run_id} ({run.row.get('task')}): sample '{row['sample_id']}' has no turns")
        return [(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in output["turns"]]

    return turns


def _reference_turns(run: RunData, notes: list[str]) -> Callable[[dict[str, Any]], list[tuple[float, float, str]]]:
    """The dataset's reference turns per sample (the store keeps hypotheses only)."""
    from modellab.config import ConfigError
    from modellab.config.registry import load_component
    from modellab.tasks.diarization import reference_turns

    try:
        dataset = load_component("dataset", run.dataset)
    except Exception as exc:  # noqa: BLE001 - an unknown or unloadable dataset: say which
        raise ExportError(
            f"run {run.run_id}: cannot load dataset '{run.dataset}' for its reference turns ({exc})"
        ) from exc
    try:
        samples = {s.sample_id: s for s in dataset.samples()}
    except (OSError, ConfigError, ValueError) as exc:
        raise ExportError(f"run {run.run_id}: dataset '{run.dataset}' is not available ({exc})") from exc
    if run.row.get("dataset_hash") and dataset.content_hash() != run.row.get("dataset_hash"):
        notes.append(f"dataset '{run.dataset}' changed since run {run.run_id} (content hash differs)")

    def turns(row: dict[str, Any]) -> list[tuple[float, float, str]]:
        sample = samples.get(str(row["sample_id"]))
        ref = reference_turns(sample, _duration(row)) if sample is not None else None
        if ref is None:
            raise ExportError(f"run {run.run_id}: sample '{row['sample_id']}' has no reference RTTM in {run.dataset}")
        return [(t.start, t.end, t.speaker) for t in ref]

    return turns


def export_run(
    run: RunData,
    fmt: str,
    normalizer: str | None = None,
    reference: bool = False,
    include_failed: bool = False,
) -> Export:
    """``run`` (from :func:`modellab.analysis.rundata.load_run`) as the text of a ``fmt`` file."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; valid: {', '.join(FORMATS)}")
    normalize = get_normalizer(normalizer) if normalizer else one_line
    writer = _Writer(run, normalize, include_failed)
    if fmt == "trn":
        lines = writer.trn(reference)
    elif fmt == "stm":
        lines = writer.stm()
    elif fmt == "ctm":
        lines = writer.ctm()
    elif fmt == "rttm":
        lines = writer.rttm(_reference_turns(run, writer.notes) if reference else _hypothesis_turns(run))
    elif fmt == "uem":
        lines = writer.uem()
    else:
        lines = writer.jsonl()
    body = [line for line in lines if not line.startswith(";;")]
    return Export("".join(line + "\n" for line in lines), len(body), writer.notes)


def main(argv: list[str] | None = None) -> int:
    setup_cli_logging()
    parser = argparse.ArgumentParser(
        prog="python -m modellab export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", help="run id, or MODEL[:KEY=VALUE...] (latest complete run)")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--normalizer", help="normalise texts first (none, basic, whisper_en)")
    parser.add_argument("--reference", action="store_true", help="trn/rttm: write the references instead")
    parser.add_argument("--include-failed", action="store_true", help="write failed samples with empty hypotheses")
    parser.add_argument("--dataset", help="dataset for a MODEL reference")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.add_argument("--results-dir", default=None, help="default: $MODELLAB_RESULTS_DIR or results/")
    args = parser.parse_args(argv)

    from modellab.results.store import default_results_dir
    from modellab.results.views import connect

    try:
        if args.normalizer:
            get_normalizer(args.normalizer)
        con = connect(Path(args.results_dir) if args.results_dir else default_results_dir())
        run = load_run(con, resolve_run(con, args.run, args.dataset))
        result = export_run(run, args.format, args.normalizer, args.reference, args.include_failed)
    except (RunNotFoundError, ExportError, ValueError) as exc:
        print(f"python -m modellab export: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        logger.warning("note: %s", note)
    if args.output:
        Path(args.output).write_text(result.text, encoding="utf-8")
        logger.info("%s: %d %s lines of run %s", args.output, result.lines, args.format, run.run_id)
    else:
        sys.stdout.write(result.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
