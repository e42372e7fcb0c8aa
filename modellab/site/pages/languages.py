"""``languages.html``: per task, models × languages and one board per language (issue 15)."""

from __future__ import annotations

from pathlib import Path

from modellab.site.layout import PageWriter
from modellab.site.overview import Overview

__all__ = ["write_languages_page"]


def write_languages_page(writer: PageWriter, overview: Overview) -> Path:
    tasks = [t for t in overview.tasks if t in overview.language_matrices]
    return writer.write(
        "languages.html",
        "languages.html",
        title="Languages",
        tasks=tasks,
        matrices=overview.language_matrices,
        boards=overview.language_boards,
    )
