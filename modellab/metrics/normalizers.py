"""Named, versioned text normalisers. Predictions are stored raw and normalised only when scored."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Normalizer", "NORMALIZERS", "get_normalizer"]


@dataclass(frozen=True)
class Normalizer:
    name: str
    version: str
    fn: Callable[[str], str]

    def __call__(self, text: str | None) -> str:
        return self.fn(text or "")


def _none(text: str) -> str:
    return " ".join(text.split())


_PUNCT = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)", re.UNICODE)


def _basic(text: str) -> str:
    """Unicode NFKC, lowercase, drop punctuation (keep in-word apostrophes), collapse spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    return " ".join(text.split())


_whisper_en: Callable[[str], str] | None = None


def _whisper_english(text: str) -> str:
    """Whisper's English normaliser (spelling, numbers, contractions), via ``whisper-normalizer``."""
    global _whisper_en
    if _whisper_en is None:
        from whisper_normalizer.english import EnglishTextNormalizer

        _whisper_en = EnglishTextNormalizer()
    return " ".join(_whisper_en(text).split())


_whisper_basic: Callable[[str], str] | None = None


def _whisper_basic_text(text: str) -> str:
    """Whisper's language-independent normaliser (``BasicTextNormalizer``): lowercase, drop bracketed and
    parenthesised text and symbols, keep diacritics; for languages ``whisper_en`` does not apply to."""
    global _whisper_basic
    if _whisper_basic is None:
        from whisper_normalizer.basic import BasicTextNormalizer

        _whisper_basic = BasicTextNormalizer()
    return " ".join(_whisper_basic(text).split())


def _whisper_version() -> str:
    try:
        from importlib.metadata import version

        return f"whisper-normalizer=={version('whisper-normalizer')}"
    except Exception:  # noqa: BLE001
        return "whisper-normalizer==unknown"


NORMALIZERS: dict[str, Normalizer] = {
    "none": Normalizer("none", "1", _none),
    "basic": Normalizer("basic", "1", _basic),
    "whisper_en": Normalizer("whisper_en", _whisper_version(), _whisper_english),
    "whisper_basic": Normalizer("whisper_basic", _whisper_version(), _whisper_basic_text),
}


def get_normalizer(name: str) -> Normalizer:
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown normaliser '{name}'; valid: {sorted(NORMALIZERS)}") from None
