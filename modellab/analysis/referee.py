"""NIST's scoring tools (Debian's ``sctk``: sclite, sc_stats, md-eval.pl) as the lab's referee.

- :func:`sclite_counts`: per-utterance (correct, substitutions, deletions, insertions) from sclite.
- :func:`md_eval`: DER and its parts from md-eval.pl (collar per side, optionally single-speaker regions only).
- :func:`significance` / :func:`nist_comparison`: sc_stats' matched-pair sentence-segment (MAPSSWE) and
  sign tests between two ASR runs, set beside the lab's paired bootstrap by ``python -m modellab compare``.

Every function needs sctk installed (``apt-get install -y sctk``); :func:`sctk_available` says whether it is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modellab.analysis.compare import Comparison

__all__ = [
    "MdEvalScore",
    "NistReport",
    "NistTest",
    "SctkError",
    "format_nist",
    "md_eval",
    "nist_comparison",
    "sclite_counts",
    "sctk_available",
    "sctk_tool",
    "significance",
]

_SCTK_DIRS = ("/usr/lib/sctk/bin", "/usr/local/lib/sctk/bin")
_SIGNIFICANT = 0.05


class SctkError(RuntimeError):
    """sctk is missing or one of its tools failed; the message says which and how."""


def sctk_tool(name: str) -> str | None:
    """Path of an sctk tool (on PATH, or where Debian's sctk package puts it), or None."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SCTK_DIRS:
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def sctk_available() -> bool:
    return all(sctk_tool(t) for t in ("sclite", "sc_stats", "md-eval.pl"))


def _run(tool: str, args: list[str], stdin: str | None = None) -> str:
    path = sctk_tool(tool)
    if path is None:
        raise SctkError(f"{tool} not found: install NIST sctk (apt-get install -y sctk)")
    cmd = ["perl", path, *args] if tool.endswith(".pl") else [path, *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise SctkError(f"{' '.join(cmd)} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1000:]}")
    return proc.stdout


# --- sclite ----------------------------------------------------------------------------------------
_PRA_ID = re.compile(r"^id: \((.+)\)\s*$")
_PRA_SCORES = re.compile(r"^Scores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)")


def sclite_counts(
    ref: str | Path, hyp: str | Path, ref_format: str = "trn", hyp_format: str = "trn"
) -> dict[str, tuple[int, int, int, int]]:
    """sclite's (correct, substitutions, deletions, insertions) per utterance (trn) or segment (stm)
    id, case-sensitive (``-s``, as the lab's WER) and UTF-8. Formats: trn/trn, or stm/ctm."""
    ids = ["-i", "spu_id"] if "trn" in (ref_format, hyp_format) else []
    out = _run(
        "sclite",
        ["-r", str(ref), ref_format, "-h", str(hyp), hyp_format, *ids, "-s", "-e", "utf-8", "-o", "pra", "stdout"],
    )
    counts: dict[str, tuple[int, int, int, int]] = {}
    utt = None
    for line in out.splitlines():
        if m := _PRA_ID.match(line):
            utt = m.group(1)
        elif (m := _PRA_SCORES.match(line)) and utt is not None:
            c, s, d, i = (int(v) for v in m.groups())
            counts[utt] = (c, s, d, i)
            utt = None
    if not counts:
        raise SctkError(f"sclite scored no utterance of {hyp} against {ref}:\n{out[-1000:]}")
    return counts


# --- md-eval ---------------------------------------------------------------------------------------
@dataclass
class MdEvalScore:
    """md-eval.pl's totals in seconds (two decimals, as it prints them) and its DER in percent."""

    scored: float
    missed: float
    false_alarm: float
    confusion: float
    der_pct: float


_MD_FIELDS = {
    "scored": r"SCORED SPEAKER TIME =\s*([\d.]+)",
    "missed": r"MISSED SPEAKER TIME =\s*([\d.]+)",
    "false_alarm": r"FALARM SPEAKER TIME =\s*([\d.]+)",
    "confusion": r"SPEAKER ERROR TIME =\s*([\d.]+)",
    "der_pct": r"OVERALL SPEAKER DIARIZATION ERROR =\s*([\d.]+)",
}


def md_eval(
    ref_rttm: str | Path,
    hyp_rttm: str | Path,
    uem: str | Path | None,
    collar_per_side_s: float,
    single_speaker_only: bool = False,
) -> MdEvalScore:
    """Score with md-eval.pl: ``-c`` is the collar on EACH side of a reference boundary (the lab's
    ``collar_s`` is the total width, so ``collar_s = 2 × c``); ``-1`` scores single-speaker regions
    only (the lab's ``skip_overlap=true``)."""
    args = ["-r", str(ref_rttm), "-s", str(hyp_rttm), "-c", str(collar_per_side_s)]
    if uem is not None:
        args += ["-u", str(uem)]
    if single_speaker_only:
        args.append("-1")
    out = _run("md-eval.pl", args)
    values: dict[str, float] = {}
    for name, pattern in _MD_FIELDS.items():
        m = re.search(pattern, out)
        if m is None:
            raise SctkError(f"md-eval.pl printed no '{pattern.split('=')[0].strip()}' line:\n{out[-1500:]}")
        values[name] = float(m.group(1))
    return MdEvalScore(**values)


# --- sc_stats --------------------------------------------------------------------------------------
@dataclass
class NistTest:
    """One sc_stats test between two systems: its p-value (three decimals; ``p_text`` "<0.001" when
    sc_stats prints only a bound, ``p_value`` then 0.001) and the better system."""

    name: str
    p_value: float
    significant: bool
    better: str | None  # "baseline" | "candidate" | None (no significant difference)
    p_text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_TESTS = {"MP": "matched pairs (MAPSSWE)", "SI": "sign test (per utterance)"}


def _utterance_lines(texts: list[str]) -> str:
    # "u<n>-<n>": sclite's spu_id reads "<speaker>-<utterance>", so every utterance is its own
    # "speaker" and the sign test runs over utterances.
    return "".join(f"{t} (u{n}-{n})\n" for n, t in enumerate(texts, 1))


def significance(references: list[str], baseline: list[str], candidate: list[str]) -> list[NistTest]:
    """sc_stats' MAPSSWE and sign tests (p < 0.05, two-tailed) between two hypothesis lists of the
    same utterances (texts already normalised, one line each, free of sclite's ``(){}`` marks)."""
    if not (len(references) == len(baseline) == len(candidate)) or not references:
        raise ValueError("significance needs the same, non-zero number of references and hypotheses")
    with tempfile.TemporaryDirectory(prefix="modellab-sc_stats-") as tmp:
        folder = Path(tmp)
        for name, texts in (("ref", references), ("baseline", baseline), ("candidate", candidate)):
            (folder / f"{name}.trn").write_text(_utterance_lines(texts), encoding="utf-8")
        sgml = _run(
            "sclite",
            ["-r", str(folder / "ref.trn"), "trn", "-h", str(folder / "baseline.trn"), "trn", "baseline"]
            + ["-h", str(folder / "candidate.trn"), "trn", "candidate", "-i", "spu_id", "-s", "-e", "utf-8"]
            + ["-o", "sgml", "stdout"],
        )
        _run("sc_stats", ["-p", "-t", "mapsswe", "-t", "sign", "-u", "-O", str(folder), "-n", "cmp"], stdin=sgml)
        unified = folder / "cmp.stats.unified"
        if not unified.exists():
            raise SctkError(f"sc_stats wrote no unified report in {folder}")
        return _parse_unified(unified.read_text(encoding="utf-8", errors="replace"))


_CELL = re.compile(r"(~|baseline|candidate)\s+(<?[\d.]+)")


def _parse_unified(text: str) -> list[NistTest]:
    """The baseline × candidate cell of each test in sc_stats' unified matrix, e.g.
    ``|    MP     ||  baseline  |   |  baseline  0.012   *  ||  MP  |``."""
    tests = []
    for line in text.splitlines():
        parts = line.split("||")
        if len(parts) < 3:
            continue
        abbrev = parts[0].strip(" |")
        if abbrev not in _TESTS:
            continue
        match = next((m for cell in parts[1].split("|") if (m := _CELL.search(cell))), None)
        if match is None:
            continue
        winner, p_text = match.group(1), match.group(2)
        better = None if winner == "~" else winner
        tests.append(NistTest(_TESTS[abbrev], float(p_text.lstrip("<")), better is not None, better, p_text))
    if not tests:
        raise SctkError(f"no test results in sc_stats' unified report:\n{text[-1500:]}")
    return tests


# --- beside compare's bootstrap -----------------------------------------------------------------------
@dataclass
class NistReport:
    tests: list[NistTest]
    n_utterances: int
    normalizer: str
    bootstrap_significant: bool | None
    bootstrap_better: str | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tests": [t.as_dict() for t in self.tests],
            "n_utterances": self.n_utterances,
            "normalizer": self.normalizer,
            "bootstrap_significant": self.bootstrap_significant,
            "bootstrap_better": self.bootstrap_better,
            "notes": self.notes,
        }


def _scored_pairs(cmp: Comparison, normalize: Any) -> tuple[list[str], list[str], list[str]]:
    by_id = {s["sample_id"]: s for s in cmp.candidate.samples}
    refs, base, cand = [], [], []
    for b in cmp.baseline.samples:
        c = by_id.get(b["sample_id"])
        if c is None or b.get("error") or c.get("error") or b.get("reference") is None:
            continue
        if b.get("hypothesis") is None or c.get("hypothesis") is None:
            continue
        ref = normalize(b["reference"])
        if not ref:
            continue  # the lab leaves empty references out of WER
        refs.append(ref)
        base.append(normalize(b["hypothesis"]))
        cand.append(normalize(c["hypothesis"]))
    return refs, base, cand


def _bootstrap_view(cmp: Comparison) -> tuple[bool | None, str | None]:
    wer = cmp.metric("wer")
    if wer is None or wer.ci is None:
        return None, None
    if not wer.ci.significant:
        return False, None
    return True, "candidate" if wer.ci.delta < 0 else "baseline"


def nist_comparison(cmp: Comparison) -> NistReport | None:
    """sc_stats' tests on the WER of two ASR runs (the utterances both scored, under the baseline's
    primary normaliser), and whether they agree with the bootstrap; None when sctk is not installed
    or the runs are not transcripts."""
    from modellab.metrics.normalizers import get_normalizer

    if not sctk_available() or cmp.metric("wer") is None:
        return None
    name = str(cmp.baseline.row.get("normalizer") or "none")
    try:
        normalize = get_normalizer(name)
    except ValueError:
        return None
    refs, base, cand = _scored_pairs(cmp, normalize)
    marks = set("(){}")
    if not refs or any(marks & set(t) for t in (*refs, *base, *cand)):
        return None
    tests = significance(refs, base, cand)
    boot_sig, boot_better = _bootstrap_view(cmp)
    report = NistReport(tests, len(refs), name, boot_sig, boot_better)
    if boot_sig is not None:
        for t in tests:
            if t.significant != boot_sig or (t.significant and t.better != boot_better):
                said = f"{t.better} better (p={t.p_text})" if t.significant else f"no difference (p={t.p_text})"
                boot = f"{boot_better} better" if boot_sig else "no difference"
                report.notes.append(f"DISAGREE: sc_stats {t.name} says {said}; the bootstrap on wer says {boot}")
    return report


def format_nist(report: NistReport) -> str:
    from tabulate import tabulate

    rows = [[t.name, t.p_text, "yes" if t.significant else "no", t.better or "—"] for t in report.tests]
    boot = (
        "—"
        if report.bootstrap_significant is None
        else (f"yes ({report.bootstrap_better} better)" if report.bootstrap_significant else "no")
    )
    out = [
        "",
        "",
        f"NIST sc_stats on WER ({report.n_utterances} utterances, normaliser {report.normalizer}; "
        f"significant at p < {_SIGNIFICANT}); bootstrap significant: {boot}",
        tabulate(rows, headers=["test", "p", "significant", "better"], tablefmt="github", disable_numparse=True),
    ]
    out += report.notes or ["sc_stats and the bootstrap agree"]
    return "\n".join(out)
