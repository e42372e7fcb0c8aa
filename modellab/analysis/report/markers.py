"""Generated blocks inside markdown: ``<!-- report:NAME -->`` ... ``<!-- /report:NAME -->``, each marker
alone on its line (a marker quoted inside a sentence is not one).

Everything between the two markers belongs to ``python -m modellab report``; the stamp line at its end
records the deps fingerprint (``deps <hex>``) that ``--check`` compares.
"""

from __future__ import annotations

import re

__all__ = ["MarkerError", "block_names", "block_text", "recorded_fingerprint", "replace_block"]

_ANY_START = re.compile(r"^<!-- report:([A-Za-z0-9_.-]+) -->$", re.MULTILINE)
_FINGERPRINT = re.compile(r"\bdeps ([0-9a-f]{6,64})\b")


class MarkerError(ValueError):
    """Markers that do not pair up (a start without its end, or twice)."""


def _pattern(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    return re.compile(rf"^(<!-- report:{escaped} -->\n)(.*?)^(<!-- /report:{escaped} -->)$", re.DOTALL | re.MULTILINE)


def block_names(text: str) -> list[str]:
    """Names of the blocks opened in ``text``, in order."""
    return _ANY_START.findall(text)


def block_text(text: str, name: str, where: str = "") -> str | None:
    """The generated content of block ``name`` (None when the file has no such block)."""
    starts = block_names(text).count(name)
    if starts == 0:
        return None
    matches = list(_pattern(name).finditer(text))
    if starts > 1 or len(matches) != 1:
        raise MarkerError(f"{where}: block '{name}' needs one start and one '<!-- /report:{name} -->' end marker")
    return matches[0].group(2)


def replace_block(text: str, name: str, content: str, where: str = "") -> str:
    """``text`` with block ``name``'s content replaced by ``content`` (markers kept)."""
    if block_text(text, name, where) is None:
        raise MarkerError(f"{where}: no '<!-- report:{name} -->' marker (add the markers around the table)")
    body = content if content.endswith("\n") else content + "\n"
    return _pattern(name).sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def recorded_fingerprint(content: str) -> str | None:
    """The ``deps <hex>`` a generated block recorded, or None."""
    found = _FINGERPRINT.findall(content)
    return found[-1] if found else None
