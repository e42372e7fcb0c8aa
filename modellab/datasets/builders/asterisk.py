"""Real read speech in five languages from Debian's Asterisk core sound prompts.

Audio: ``asterisk-core-sounds-<lang>-wav`` (8 kHz mono WAV, one professional voice per language,
under ``/usr/share/asterisk/sounds/<voice>/``). Transcripts: ``asterisk-core-sounds-<lang>``
(``/usr/share/doc/asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz``, ``name: text`` lines).

Curation is a fixed set of rules, applied in this order (docs/datasets.md states them too):

1. Corrections first: every row of the committed corrections file (``lang, name, field, original,
   corrected, reason``) must match its transcript line exactly (a stale row is an error, never
   skipped); ``field: text`` replaces the transcript, ``field: name`` the prompt name.
2. A prompt name matches its WAV file by relative path; a name differing only in letter case
   matches when exactly one file does (``letters/O`` -> ``letters/o.wav``).
3. Non-speech: everything under ``silence/`` and every transcript that is one bracketed or
   parenthesised or angle-bracketed annotation (``[beep tone]``, ``(9 seconds of silence)``,
   ``<beep ascending>``) goes to the ``nonspeech`` subset, without a reference (a smoke set for
   hallucination checks), never into WER.
4. A bracketed gloss of one symbol (``at [@]``, ``spazio []``) is dropped from the reference.
5. Excluded, with the reason in ``curation.jsonl``: a transcript without audio, audio without a
   transcript, an empty transcript, and a transcript that still holds an inline annotation
   (``IAX (note: does not say "2")``): its reference is not what is said.
6. Prompts under ``letters/``, ``digits/`` and ``phonetic/`` (isolated letters, numbers and
   spelling words) form the ``letters_digits`` subset; the rest is ``prompts``.

The built folder holds the subset's WAVs (8 kHz as shipped; the lab resamples to 16 kHz on load),
``manifest.jsonl``, ``curation.jsonl`` (every prompt's fate) and ``SOURCE.txt`` (packages,
licence and attribution, with the Debian ``copyright`` file copied next to it).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile

from modellab.datasets.base import DatasetError, DatasetNotAvailableError
from modellab.datasets.manifest import write_manifest

__all__ = [
    "LANGUAGES",
    "SUBSETS",
    "Correction",
    "Prompt",
    "build",
    "curate",
    "read_corrections",
    "read_transcripts",
]

SOUNDS_ROOT = "/usr/share/asterisk/sounds"
DOC_ROOT = "/usr/share/doc"
SUBSETS = ("prompts", "letters_digits", "nonspeech")
SPELLING_FOLDERS = ("letters/", "digits/", "phonetic/")


@dataclass(frozen=True)
class Voice:
    folder: str  # under SOUNDS_ROOT
    license: str  # from the package's copyright file
    attribution: str


LANGUAGES: dict[str, Voice] = {
    "en": Voice("en_US_f_Allison", "CC-BY-SA-3.0", "Recorded by Allison Smith (theivrvoice.com); Digium, Inc."),
    "fr": Voice(
        "fr_CA_f_June",
        "CC-BY-SA-3.0",
        "Recorded by June Wallack (junewallack.com); translated by Clod Patry, Kristopher Lalletti, June Wallack",
    ),
    "es": Voice("es_MX_f_Allison", "CC-BY-SA-3.0", "Recorded by Allison Smith (theivrvoice.com); Digium, Inc."),
    "it": Voice("it_IT_m_Carlo", "CC-BY-3.0", "Recorded by Carlo Flora (carloflora.com); translated by Silvia Petrin"),
    "ru": Voice("ru_RU_f_IvrvoiceRU", "CC-BY-3.0", "Provided by Maxim Topal (ivrvoice.ru)"),
}

_ANNOTATION_ONLY = re.compile(r"^\s*(\[[^\]]*\]|\([^)]*\)|<[^>]*>)\s*$")  # [beep tone], (silence), <beep ascending>
_SYMBOL_GLOSS = re.compile(r"\s*\[\s*[^\w\s]?\s*\]\s*")
_INLINE_ANNOTATION = re.compile(r"[\[\]()<>]")


@dataclass(frozen=True)
class Correction:
    lang: str
    name: str
    field: str  # "text" or "name"
    original: str
    corrected: str
    reason: str
    line: int


@dataclass
class Prompt:
    """One transcript line or WAV file and what curation made of it."""

    name: str
    text: str | None  # the reference after corrections and glosses (None: non-speech or no transcript)
    original: str | None  # the transcript as shipped
    audio: str | None  # path relative to the voice folder
    subset: str | None  # one of SUBSETS, or None when excluded
    reason: str  # why excluded, corrected or non-speech ("" for a plain prompt)


def _read_gz_text(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc


def read_transcripts(path: Path) -> list[tuple[int, str, str]]:
    """(line, name, text) of a ``core-sounds-<lang>.txt.gz`` file; ``;`` lines are comments."""
    out = []
    for lineno, line in enumerate(_read_gz_text(path), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        name, sep, text = stripped.partition(":")
        if not sep or not name.strip():
            raise DatasetError(f"{path}:{lineno}: not a 'name: text' line")
        out.append((lineno, name.strip(), " ".join(text.split())))
    return out


def read_corrections(path: Path, lang: str) -> list[Correction]:
    """The rows of ``lang`` in the corrections TSV (``#`` lines are comments)."""
    if not path.is_file():
        raise DatasetError(f"{path}: corrections file not found")
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [(i, line) for i, line in enumerate(fh, 1) if line.strip() and not line.startswith("#")]
    reader = csv.DictReader((line for _, line in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
    expected = ["lang", "name", "field", "original", "corrected", "reason"]
    if reader.fieldnames != expected:
        raise DatasetError(f"{path}: header must be {expected} (tab-separated), got {reader.fieldnames}")
    for (lineno, _), row in zip(lines[1:], reader, strict=True):
        if None in row.values() or None in row:
            raise DatasetError(f"{path}:{lineno}: expected 6 tab-separated fields")
        if row["field"] not in ("text", "name"):
            raise DatasetError(f"{path}:{lineno}: field must be 'text' or 'name', got '{row['field']}'")
        if not row["reason"].strip():
            raise DatasetError(f"{path}:{lineno}: every correction states its reason")
        if row["lang"] == lang:
            rows.append(Correction(**{k: row[k] for k in expected}, line=lineno))
    return rows


def _apply_corrections(
    lines: list[tuple[int, str, str]], corrections: list[Correction], where: Path
) -> list[tuple[str, str, str, str]]:
    """(name, text, original text, reason) per transcript line, corrections applied."""
    out = []
    used: set[int] = set()
    for _, name, text in lines:
        reason = ""
        new_name, new_text = name, text
        for c in corrections:
            if c.name == name and c.original == text:
                used.add(c.line)
                if c.field == "name":
                    new_name = c.corrected
                else:
                    new_text = c.corrected
                reason = f"corrected ({c.reason})"
        out.append((new_name, new_text, text, reason))
    stale = [c for c in corrections if c.line not in used]
    if stale:
        c = stale[0]
        raise DatasetError(
            f"{where}:{c.line}: correction of '{c.lang}' prompt '{c.name}' matches no transcript line "
            f"with text {c.original!r} in the installed package"
        )
    return out


def _audio_index(voice_dir: Path) -> dict[str, str]:
    """Prompt name -> WAV path relative to the voice folder."""
    return {
        str(p.relative_to(voice_dir).with_suffix("")): str(p.relative_to(voice_dir)) for p in voice_dir.rglob("*.wav")
    }


def _find_audio(name: str, audio: dict[str, str], by_lower: dict[str, list[str]]) -> str | None:
    if name in audio:
        return name
    same = by_lower.get(name.lower(), [])
    return same[0] if len(same) == 1 else None


def _classify(name: str, text: str) -> tuple[str | None, str | None, str]:
    """(subset, reference, reason) of a prompt that has audio and a transcript."""
    if name.startswith("silence/") or _ANNOTATION_ONLY.match(text):
        return "nonspeech", None, f"non-speech: {text}"
    if not text:
        return None, None, "excluded: empty transcript"
    reference = " ".join(_SYMBOL_GLOSS.sub(" ", text).split())
    if _INLINE_ANNOTATION.search(reference):
        return None, None, f"excluded: inline annotation in the transcript ({text})"
    subset = "letters_digits" if name.startswith(SPELLING_FOLDERS) else "prompts"
    reason = f"symbol gloss dropped ({text})" if reference != text else ""
    return subset, reference, reason


def curate(lang: str, corrections: Path, sounds_root: str = SOUNDS_ROOT, doc_root: str = DOC_ROOT) -> list[Prompt]:
    """Every prompt of ``lang`` (transcript lines and WAV files) with its subset or exclusion reason."""
    if lang not in LANGUAGES:
        raise DatasetError(f"asterisk: unknown language '{lang}'; valid: {sorted(LANGUAGES)}")
    voice_dir = Path(sounds_root) / LANGUAGES[lang].folder
    transcripts = Path(doc_root) / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"
    if not voice_dir.is_dir() or not transcripts.is_file():
        raise DatasetNotAvailableError(
            f"Asterisk {lang} prompts not found ({voice_dir}, {transcripts}): "
            f"apt-get install asterisk-core-sounds-{lang}-wav asterisk-core-sounds-{lang}"
        )
    corrected = _apply_corrections(read_transcripts(transcripts), read_corrections(corrections, lang), corrections)
    names = [n for n, *_ in corrected]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DatasetError(f"{transcripts}: prompt names appear twice: {dupes} (add a correction to {corrections})")
    audio = _audio_index(voice_dir)
    by_lower: dict[str, list[str]] = {}
    for key in audio:
        by_lower.setdefault(key.lower(), []).append(key)
    prompts: list[Prompt] = []
    matched: set[str] = set()
    for name, text, original, correction in corrected:
        found = _find_audio(name, audio, by_lower)
        if found is None:
            prompts.append(Prompt(name, None, original, None, None, "excluded: no audio file"))
            continue
        key = found
        matched.add(key)
        subset, reference, rule = _classify(name, text)
        reason = "; ".join(r for r in (correction, rule) if r)
        prompts.append(Prompt(key, reference, original, audio[key], subset, reason))
    for key in sorted(set(audio) - matched):
        if key.startswith("silence/"):
            prompts.append(Prompt(key, None, None, audio[key], "nonspeech", "non-speech: silence/ (no transcript)"))
        else:
            prompts.append(Prompt(key, None, None, audio[key], None, "excluded: no transcript"))
    return prompts


def _source_note(lang: str, subset: str, doc_root: str) -> str:
    voice = LANGUAGES[lang]
    return (
        f"Asterisk core sound prompts, language {lang}, subset {subset}.\n"
        f"Debian packages: asterisk-core-sounds-{lang}-wav (audio, 8 kHz mono WAV, voice {voice.folder}) and "
        f"asterisk-core-sounds-{lang} (transcripts, {doc_root}/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz).\n"
        f"Licence: {voice.license}. Attribution: {voice.attribution}.\n"
        "Upstream: http://downloads.asterisk.org/pub/telephony/sounds/ (see copyright).\n"
    )


def build(
    root: Path,
    language: str,
    subset: str,
    corrections: str,
    sounds_root: str = SOUNDS_ROOT,
    doc_root: str = DOC_ROOT,
    sample: int | None = None,
    seed: int = 0,
) -> None:
    """Copy the WAVs of ``subset`` of ``language`` into ``root`` with a manifest and the curation log;
    ``sample``: only that many prompts, drawn with ``random.Random(seed)`` (a fixed, seeded subset)."""
    if subset not in SUBSETS:
        raise DatasetError(f"asterisk: unknown subset '{subset}'; valid: {list(SUBSETS)}")
    prompts = curate(language, Path(corrections), sounds_root, doc_root)
    root = Path(root)
    voice = LANGUAGES[language]
    voice_dir = Path(sounds_root) / voice.folder
    chosen = sorted((p for p in prompts if p.subset == subset), key=lambda p: p.name)
    if sample is not None:
        chosen = sorted(random.Random(seed).sample(chosen, min(sample, len(chosen))), key=lambda p: p.name)
    rows = []
    for p in chosen:
        assert p.audio is not None  # a prompt in a subset has audio
        dest = root / "audio" / p.audio
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(voice_dir / p.audio, dest)
        info = soundfile.info(str(dest))
        rows.append(
            {
                "sample_id": f"{language}-{p.name.replace('/', '.')}",
                "audio": str(dest.relative_to(root)),
                "text": p.text,
                "duration": round(info.duration, 3),
                "speaker": voice.folder,
                "language": language,
                "subset": subset,
                "sample_rate": info.samplerate,
                "original_text": p.original,
                "note": p.reason,
            }
        )
    root.mkdir(parents=True, exist_ok=True)
    with (root / "curation.jsonl").open("w", encoding="utf-8") as fh:
        for p in prompts:
            fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    (root / "SOURCE.txt").write_text(_source_note(language, subset, doc_root), encoding="utf-8")
    copyright_file = Path(doc_root) / f"asterisk-core-sounds-{language}" / "copyright"
    if copyright_file.is_file():
        shutil.copyfile(copyright_file, root / "copyright")
    write_manifest(root, rows)
