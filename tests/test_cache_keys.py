"""The cell key follows the data in the working tree: a dataset whose content changes under the same
name is computed again (on the runner, in a temporary results folder; no clone of HEAD involved)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modellab.results.views import connect

CLIP = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
TEXT = "he was not an ill disposed young man"


def _write_manifest(root: Path, text: str) -> None:
    row = {"sample_id": "a", "audio": "a.wav", "text": text}
    (root / "manifest.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")


def _run(run_cell, root: Path):
    return run_cell(
        "+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", f"dataset.root={root}", "dataset.builder=null"
    )


def test_a_dataset_whose_content_changes_under_the_same_name_is_computed_again(
    run_cell, results_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    shutil.copy(CLIP, root / "a.wav")
    _write_manifest(root, TEXT)
    first = _run(run_cell, root)
    assert not first.cached and first.metrics["wer"] == 0.0  # the dummy says exactly TEXT
    again = _run(run_cell, root)
    assert again.cached and again.run_id == first.run_id  # unchanged data: reused

    _write_manifest(root, TEXT.replace("young", "old"))  # a corrected reference, same dataset name
    changed = _run(run_cell, root)
    assert not changed.cached and changed.run_id != first.run_id
    assert changed.metrics["wer"] == 1 / 8  # scored against the new reference: one substitution in 8 words

    audio = (root / "a.wav").read_bytes()
    (root / "a.wav").write_bytes(audio[:-3200])  # the same file name with 0.1 s less audio
    cut = _run(run_cell, root)
    assert not cut.cached and cut.run_id not in (first.run_id, changed.run_id)

    hashes = dict(connect(results_dir).sql("SELECT run_id, dataset_hash FROM runs").fetchall())
    assert len({hashes[first.run_id], hashes[changed.run_id], hashes[cut.run_id]}) == 3
