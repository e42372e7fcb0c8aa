"""The Asterisk core-sounds golden sets: curation rules on a small fixture in the packages' layout,
and hand-checked counts on the real Debian packages (skipped where they are not installed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from modellab.datasets.base import DatasetError, DatasetNotAvailableError
from modellab.datasets.builders.asterisk import build, curate
from modellab.datasets.manifest import ManifestDataset

REPO = Path(__file__).resolve().parents[1]
CORRECTIONS = REPO / "data" / "sources" / "asterisk_corrections.tsv"
HEADER = "lang\tname\tfield\toriginal\tcorrected\treason\n"
INSTALLED = all(
    Path(f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz").is_file()
    for lang in ("en", "fr", "es", "it", "ru")
)
needs_packages = pytest.mark.skipif(
    not INSTALLED, reason="apt-get install asterisk-core-sounds-{en,fr,es,it,ru}{,-wav}"
)


def _fixture(tmp_path: Path, lines: list[str], wavs: list[str], corrections: list[str] = ()) -> tuple[Path, Path, Path]:
    """An en_US_f_Allison voice folder, a core-sounds-en.txt.gz and a corrections file, as packaged."""
    sounds, docs = tmp_path / "sounds", tmp_path / "doc"
    for name in wavs:
        path = sounds / "en_US_f_Allison" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), np.zeros(8000, dtype=np.float32), 8000)  # 1 s at 8 kHz
    text = docs / "asterisk-core-sounds-en" / "core-sounds-en.txt.gz"
    text.parent.mkdir(parents=True)
    with gzip.open(text, "wt", encoding="utf-8") as fh:
        fh.write("\ufeff; Core Asterisk Sounds in English\n\n" + "\n".join(lines) + "\n")
    fixes = tmp_path / "corrections.tsv"
    fixes.write_text("# reviewed\n" + HEADER + "".join(c + "\n" for c in corrections), encoding="utf-8")
    return sounds, docs, fixes


LINES = [
    "hello: Hello there.",
    "beep: [this is a simple beep tone]",
    "confbridge-join: <beep ascending>",
    "silence/2: (2 seconds of silence)",
    "letters/at: at [@]",
    "letters/O: O",
    "digits/7: seven",
    "vm-intro: Please leave a message. (simple tone sound plays)",
    "dir-welcome:",
    "gone: Not recorded.",
    "typo: Helo world.",
]
WAVS = [
    "hello",
    "beep",
    "confbridge-join",
    "silence/2",
    "silence/3",
    "letters/at",
    "letters/o",
    "digits/7",
    "vm-intro",
    "dir-welcome",
]
WAVS += ["typo", "orphan"]


def test_curation_rules_on_a_fixture(tmp_path: Path) -> None:
    typo_fix = "en\ttypo\ttext\tHelo world.\tHello world.\ttypo: 'Helo'"
    sounds, docs, fixes = _fixture(tmp_path, LINES, WAVS, [typo_fix])
    fate = {p.name: (p.subset, p.text, p.reason) for p in curate("en", fixes, str(sounds), str(docs))}
    assert fate["hello"] == ("prompts", "Hello there.", "")
    assert fate["beep"][:2] == ("nonspeech", None)  # one bracketed annotation: not speech
    assert fate["confbridge-join"][:2] == ("nonspeech", None)  # one angle-bracketed annotation, as en and ru have
    assert fate["silence/2"][:2] == ("nonspeech", None)
    assert fate["silence/3"][:2] == ("nonspeech", None)  # silence/ without a transcript line
    assert fate["letters/at"][:2] == ("letters_digits", "at")  # the symbol gloss is dropped
    assert fate["letters/o"][:2] == ("letters_digits", "O")  # letters/O matched to letters/o.wav
    assert fate["digits/7"][:2] == ("letters_digits", "seven")
    assert fate["vm-intro"][0] is None and "inline annotation" in fate["vm-intro"][2]
    assert fate["dir-welcome"] == (None, None, "excluded: empty transcript")
    assert fate["gone"] == (None, None, "excluded: no audio file")
    assert fate["orphan"] == (None, None, "excluded: no transcript")
    assert fate["typo"] == ("prompts", "Hello world.", "corrected (typo: 'Helo')")
    assert len(fate) == 13  # 11 transcript lines + silence/3 + orphan


def test_build_writes_manifest_curation_log_and_attribution(tmp_path: Path) -> None:
    sounds, docs, fixes = _fixture(tmp_path, LINES, WAVS)
    (docs / "asterisk-core-sounds-en" / "copyright").write_text("License: CC-BY-SA-3.0\n")
    fixes.write_text(HEADER)
    root = tmp_path / "built"
    build(root, "en", "letters_digits", str(fixes), str(sounds), str(docs))
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == ["en-digits.7", "en-letters.at", "en-letters.o"]
    assert {(r["sample_rate"], r["duration"], r["language"], r["subset"]) for r in rows} == {
        (8000, 1.0, "en", "letters_digits")
    }
    assert "CC-BY-SA-3.0" in (root / "SOURCE.txt").read_text() and (root / "copyright").is_file()
    assert len((root / "curation.jsonl").read_text().splitlines()) == 13
    samples = ManifestDataset(name="t", root=str(root), manifest="manifest.jsonl", language="en").read_samples()
    assert [s.text for s in samples] == ["seven", "at", "O"]
    build(tmp_path / "ns", "en", "nonspeech", str(fixes), str(sounds), str(docs))
    nonspeech = [json.loads(line) for line in (tmp_path / "ns" / "manifest.jsonl").read_text().splitlines()]
    assert [(r["sample_id"], r["text"]) for r in nonspeech] == [
        ("en-beep", None),
        ("en-confbridge-join", None),
        ("en-silence.2", None),
        ("en-silence.3", None),
    ]


def test_a_stale_or_malformed_correction_stops_the_build(tmp_path: Path) -> None:
    stale = "en\thello\ttext\tHello there!\tHi.\tpunctuation"
    sounds, docs, fixes = _fixture(tmp_path, LINES, WAVS, [stale])
    with pytest.raises(DatasetError, match=r"corrections.tsv:3: correction of 'en' prompt 'hello' matches no"):
        curate("en", fixes, str(sounds), str(docs))
    fixes.write_text(HEADER + "en\thello\ttext\tHello there.\tHi.\t\n")
    with pytest.raises(DatasetError, match=r"corrections.tsv:2: every correction states its reason"):
        curate("en", fixes, str(sounds), str(docs))
    sounds, docs, fixes = _fixture(tmp_path / "dup", [*LINES, "hello: Hello again."], WAVS)
    with pytest.raises(DatasetError, match=r"prompt names appear twice: \['hello'\]"):
        curate("en", fixes, str(sounds), str(docs))


def test_missing_packages_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotAvailableError, match="apt-get install asterisk-core-sounds-fr-wav"):
        curate("fr", CORRECTIONS, str(tmp_path), str(tmp_path))


# Counts worked out from `dpkg -L` and the transcript files (see docs/datasets.md), e.g. French: 561 WAVs,
# 525 transcript lines; letters 61 + digits 93 + phonetic 26 WAVs less 29 without a transcript
# (24 letters/ascii*, letters/asterisk, letters/zed, digits/at, digits/dollars, digits/et) = 151;
# non-speech: 10 silence/ + ascending-2tone, descending-2tone, beeperr "(ahooga)", confbridge-join
# "(beep)", tt-monkeys = 15; excluded: 7 lines without audio + 4 empty + 3 inline annotations +
# 33 WAVs without a transcript (43 less the 10 silence/ files) = 47.
EXPECTED = {  # language: (prompts, letters_digits, nonspeech, excluded)
    "en": (369, 182, 17, 1),  # <beep ascending>, <beep decending>: non-speech since v2
    "fr": (355, 151, 15, 47),
    "es": (299, 181, 16, 32),
    "it": (363, 206, 13, 19),
    "ru": (369, 184, 17, 6),  # as en
}


@needs_packages
@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_counts_on_the_real_packages(lang: str) -> None:
    prompts = curate(lang, CORRECTIONS)
    counts = tuple(sum(p.subset == s for p in prompts) for s in ("prompts", "letters_digits", "nonspeech", None))
    assert counts == EXPECTED[lang]


@needs_packages
def test_corrections_and_rules_on_the_real_packages() -> None:
    es = {p.name: p for p in curate("es", CORRECTIONS)}
    assert (es["digits/10"].text, es["digits/0"].text) == ("diez", "cero")  # the duplicated digits/0 line
    assert es["digits/20-and"].text == "veinti" and es["digits/1F"].text == "una"  # renamed; letter case
    en = {p.name: p for p in curate("en", CORRECTIONS)}
    assert en["silence/9"].subset == "nonspeech" and en["silence/9"].text is None
    assert en["letters/at"].text == "at" and en["letters/exclaimation-point"].text == "exclamation point"
    assert en["spy-iax2"].text == "IAX"
    fr = {p.name: p for p in curate("fr", CORRECTIONS)}
    assert fr["agent-alreadyon"].text.startswith("Cet agent est présentement en ligne.")


@needs_packages
@pytest.mark.slow  # ~25 s: builds four sets and hashes them
def test_listing_shows_language_samples_and_minutes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modellab.datasets.__main__ import dataset_rows, main

    monkeypatch.setenv("MODELLAB_DATA_DIR", str(tmp_path))
    names = ["asterisk_ru_v2", "asterisk_ru_letters_v1", "asterisk_ru_nonspeech_v2", "asterisk_ru_s40_v2"]
    assert main(["build", *names]) == 0
    rows = {r["dataset"]: r for r in dataset_rows() if r["dataset"] in names}
    assert rows["asterisk_ru_letters_v1"]["language"] == "ru"
    assert rows["asterisk_ru_letters_v1"]["samples"] == 184
    assert rows["asterisk_ru_s40_v2"]["samples"] == 40
    assert rows["asterisk_ru_nonspeech_v2"]["kind"] == "nonspeech"
    assert isinstance(rows["asterisk_ru_v2"]["minutes"], float) and 15 < rows["asterisk_ru_v2"]["minutes"] < 30
