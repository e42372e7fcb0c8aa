"""``python -m modellab.pipeline write`` composes only the datasets the sweeps read (and what those
are built from), not every config in conf/dataset: composing one costs ~0.15 CPU-s."""

from __future__ import annotations

from typing import Any

import pytest

from modellab.config import group_options
from modellab.pipeline import stages
from modellab.pipeline.stages import Cell, _dataset_stages

NAMES = [n for n in group_options("dataset") if not n.startswith("default_")]


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The dataset names _dataset_stage is asked for, in order."""
    asked: list[str] = []
    real = stages._dataset_stage

    def recording(name: str, datasets: list[str]) -> Any:
        asked.append(name)
        return real(name, datasets)

    monkeypatch.setattr(stages, "_dataset_stage", recording)
    return asked


def test_a_cell_composes_its_dataset_only(composed: list[str]) -> None:
    cell = Cell(["dataset=cards_golden_v1"], data="data/built/cards_golden_v1", dataset="cards_golden_v1")
    built_stages, built, sources = _dataset_stages(NAMES, [cell])
    assert composed == ["cards_golden_v1"]
    assert list(built_stages) == ["build_cards_golden_v1"]
    assert built == {"cards_golden_v1": "data/built/cards_golden_v1"}
    assert sources == {"cards_golden_v1": []}


def test_the_datasets_a_dataset_is_built_from_are_composed_too(composed: list[str]) -> None:
    # conf/dataset/bench_concat_5min_v1.yaml concatenates librivox, call turns and synth golden clips
    cell = Cell([], data="data/built/bench_concat_5min_v1", dataset="bench_concat_5min_v1")
    _, built, sources = _dataset_stages(NAMES, [cell])
    expected = ["bench_concat_5min_v1", "call_turns_golden_v1", "librivox_golden_v1", "synth_golden_v1"]
    assert sorted(composed) == expected
    assert list(built) == expected  # in conf/dataset order (sorted names), as dvc.yaml lists them
    assert sorted(sources["bench_concat_5min_v1"]) == expected[1:]


def test_a_cell_reading_a_folder_no_composed_dataset_writes_composes_them_all(composed: list[str]) -> None:
    # a root nested inside another dataset's output: only composing every config finds its stage
    cell = Cell([], data="data/built/cards_golden_v1/subset", dataset="cards_golden_v1")
    _, built, _ = _dataset_stages(NAMES, [cell])
    assert sorted(set(composed)) == NAMES
    assert "librivox_golden_v1" in built


def test_a_corpus_cell_needs_no_build_stage(composed: list[str]) -> None:
    cell = Cell([], data="data/corpora/LibriSpeech/test-clean", dataset="librispeech_test_clean")
    built_stages, built, _ = _dataset_stages(NAMES, [cell])
    assert composed == ["librispeech_test_clean"] and built_stages == {} and built == {}
