"""Pinned baselines (data/baselines/) stay comparable with today's datasets: a builder change that alters
a pinned set's audio or references must come with a deliberate re-pin (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modellab.analysis.baselines import BASELINES_DIR, list_pins
from modellab.config.registry import load_component

PINS = list_pins()


def test_pins_exist_and_record_what_comparability_needs() -> None:
    assert PINS, f"no pinned baselines under {BASELINES_DIR}"
    for path in PINS:
        run = yaml.safe_load(path.read_text())["run"]
        missing = [
            k
            for k in (
                "dataset_hash",
                "normalizer",
                "normalizer_version",
                "model_weights",
                "model_options",
                "task_options",
                "preprocessing_steps",
            )
            if run.get(k) is None
        ]
        assert not missing, f"{path}: pin lacks {missing}; re-pin it with python -m modellab baselines pin RUN_ID"


@pytest.mark.slow
@pytest.mark.parametrize("path", PINS, ids=lambda p: str(Path(p).relative_to(BASELINES_DIR)))
def test_pinned_dataset_hash_matches_todays_build(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    dataset = load_component("dataset", doc["dataset"])
    dataset.ensure_built()
    assert dataset.content_hash() == doc["run"]["dataset_hash"], (
        f"{path}: {doc['dataset']} now hashes {dataset.content_hash()}, the pin {doc['run']['dataset_hash']}: "
        "the data changed; re-run the model on it and re-pin deliberately (python -m modellab baselines pin RUN_ID)"
    )
