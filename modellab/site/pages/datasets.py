"""``datasets.html`` (the registry and every dataset with results) and ``datasets/<name>.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modellab.site.layout import PageWriter
from modellab.site.load import DatasetEntry, Registry, Results
from modellab.site.overview import group_runs
from modellab.site.pages.runs import recent_runs_board
from modellab.site.power import board_size, size_text
from modellab.site.shaping import Board, dataset_page, slug

__all__ = ["write_dataset_page", "write_dataset_pages", "write_datasets_page"]


def write_dataset_pages(writer: PageWriter, results: Results, registry: Registry, boards: Sequence[Board]) -> int:
    """One page per dataset (registry or results) and the datasets list; returns how many datasets."""
    entries = {d.name: d for d in registry.datasets}
    names = sorted(set(entries) | {str(r.get("dataset")) for r in results.runs})
    runs_by_dataset = group_runs(results.runs, "dataset")
    rows = []
    for name in names:
        own = runs_by_dataset.get((name,), [])
        rows.append({"name": name, "entry": entries.get(name), "n_runs": len(own)})
        write_dataset_page(writer, results, name, entries.get(name), own, [b for b in boards if b.dataset == name])
    write_datasets_page(writer, rows)
    return len(names)


def write_dataset_page(
    writer: PageWriter,
    results: Results,
    name: str,
    entry: DatasetEntry | None,
    own: Sequence[Mapping[str, Any]],
    boards: list[Board],
) -> Path:
    """Registry facts, the content hashes its runs recorded, its leaderboards and its runs."""
    hashes: dict[str, int] = {}
    for r in own:
        hashes[str(r.get("dataset_hash"))] = hashes.get(str(r.get("dataset_hash")), 0) + 1
    return writer.write(
        dataset_page(name),
        "dataset.html",
        title=f"Dataset {name}",
        name=name,
        size=_size_text(entry, own),
        entry=entry,
        boards=boards,
        hashes=hashes,
        recent=recent_runs_board(f"dataset-runs-{slug(name)}", own, results),
        n_own=len(own),
    )


def _size_text(entry: DatasetEntry | None, own: Sequence[Mapping[str, Any]]) -> str:
    """``n=…, … min`` of the dataset as built here, else of what its runs scored ("" when unknown)."""
    if entry is not None and entry.samples is not None:
        return size_text(entry.samples, None if entry.hours is None else 3600 * entry.hours)
    size = board_size(own)
    return f"{size.text} scored" if size else ""


def write_datasets_page(writer: PageWriter, rows: list[dict[str, Any]]) -> Path:
    return writer.write("datasets.html", "datasets.html", title="Datasets", datasets=rows)
