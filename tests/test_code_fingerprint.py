"""The code a cell ran (modellab.run.codehash): the import closure of its modules, hashed by content,
plus the numeric libraries' versions. Editing a scoring module changes an ASR cell's fingerprint and
makes the next sweep recompute it; editing the site changes nothing.

Edits happen in temporary copies of the package, never in this working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modellab.results.views import connect
from modellab.run import codehash
from modellab.run.codehash import cell_modules, code_fingerprint, source_closure
from tests.conftest import REPO

ASR_CELL = ("modellab.models.dummy", "modellab.preprocessing", "modellab.run.runner", "modellab.tasks.asr")


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _append(path: Path, text: str = "\n# edited by a test\n") -> None:
    """An edit that changes the file's size, as every real edit of a source file is seen."""
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    """modellab/{__init__,cell,scoring,helpers,site}.py: cell imports scoring lazily, scoring imports
    helpers relatively; site imports scoring but nothing imports site."""
    _write(tmp_path, "modellab/__init__.py", '__version__ = "0"\n')
    _write(tmp_path, "modellab/cell.py", "def run():\n    from modellab.scoring import score\n    return score()\n")
    _write(tmp_path, "modellab/scoring.py", "from .helpers import one\n\n\ndef score():\n    return one()\n")
    _write(tmp_path, "modellab/helpers.py", "import numpy\n\n\ndef one():\n    return 1\n")
    _write(tmp_path, "modellab/site.py", "from modellab.scoring import score\n")
    return tmp_path


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package (code only) to edit; conf/ is linked, data read from the repository."""
    root = tmp_path / "src"
    shutil.copytree(
        REPO / "modellab", root / "modellab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    )
    (root / "conf").symlink_to(REPO / "conf")
    return root


# --- the closure and the fingerprint, on a hand-written tree ------------------------------------


def test_closure_follows_lazy_and_relative_imports_only(tiny_tree: Path) -> None:
    assert source_closure(["modellab.cell"], root=tiny_tree) == [
        "modellab/__init__.py",
        "modellab/cell.py",
        "modellab/helpers.py",
        "modellab/scoring.py",
    ]


def test_fingerprint_changes_with_imported_code_only(tiny_tree: Path) -> None:
    before = code_fingerprint(["modellab.cell"], root=tiny_tree)
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) == before  # stable (and cached)
    _append(tiny_tree / "modellab" / "site.py")  # imports the cell's code, but the cell does not import it
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) == before
    _append(tiny_tree / "modellab" / "helpers.py")  # two imports away, one of them lazy
    edited = code_fingerprint(["modellab.cell"], root=tiny_tree)
    assert edited != before
    (tiny_tree / "modellab" / "helpers.py").unlink()  # an imported module removed
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) not in (before, edited)


def test_fingerprint_covers_the_numeric_libraries(tiny_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codehash, "_FINGERPRINTS", {})
    monkeypatch.setattr(codehash, "library_versions", lambda: (("jiwer", "4.0.0"), ("numpy", "2.0.0")))
    before = code_fingerprint(["modellab.cell"], root=tiny_tree)
    monkeypatch.setattr(codehash, "_FINGERPRINTS", {})  # versions are read once per process
    monkeypatch.setattr(codehash, "library_versions", lambda: (("jiwer", "4.0.0"), ("numpy", "2.1.0")))
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) != before


def test_library_versions_are_the_installed_numeric_libraries() -> None:
    from importlib import metadata

    versions = dict(codehash.library_versions())
    assert versions["numpy"] == metadata.version("numpy") and versions["jiwer"] == metadata.version("jiwer")
    assert "duckdb" not in versions and "pyarrow" not in versions  # storage, not numbers
    assert set(versions) <= set(codehash.NUMERIC_LIBRARIES)


# --- an ASR cell of the real package ---------------------------------------------------------------


def _as_a_new_process() -> None:
    """Forget what this process memoised: data folders are digested once per process."""
    codehash._data_digest.cache_clear()
    codehash._FINGERPRINTS.clear()


def test_a_package_data_folder_counts_its_files_but_not_an_npm_install_inside_it(tiny_tree: Path) -> None:
    """modellab/web/ (no Python: package data of modellab) holds a page and its npm lock; the packages
    npm installed under web/node_modules/ are pinned by that lock, so editing them changes nothing."""
    _write(tiny_tree, "modellab/web/index.html", "<p>page</p>\n")
    _write(tiny_tree, "modellab/web/package-lock.json", '{"lockfileVersion": 3}\n')
    _write(tiny_tree, "modellab/web/node_modules/pkg/index.js", "export const a = 1;\n")
    before = code_fingerprint(["modellab.cell"], root=tiny_tree)
    _as_a_new_process()
    _append(tiny_tree / "modellab" / "web" / "node_modules" / "pkg" / "index.js", "export const b = 2;\n")
    _write(tiny_tree, "modellab/web/node_modules/other/setup.py", "print('not ours')\n")  # no Python package either
    _as_a_new_process()
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) == before
    _append(tiny_tree / "modellab" / "web" / "package-lock.json", "\n")
    _as_a_new_process()
    assert code_fingerprint(["modellab.cell"], root=tiny_tree) != before


def test_cell_modules_are_its_classes_modules_and_the_runner() -> None:
    from modellab.config.registry import load_component

    model = load_component("model", "dummy_asr")
    task = load_component("task", "asr")
    preprocessing = load_component("preprocessing", "none")
    modules = cell_modules(model, task, preprocessing)
    # ConstantASR(ASRModel(Model)), ASRTask(Task), Pipeline: their modules, plus the runner
    assert set(ASR_CELL) <= set(modules) and "modellab.models.base" in modules
    assert all(m.startswith("modellab.") for m in modules)


def test_asr_cell_fingerprint_follows_scoring_code_not_the_site(package_copy: Path) -> None:
    files = source_closure(ASR_CELL, root=package_copy)
    assert {"modellab/metrics/wer.py", "modellab/metrics/normalizers.py", "modellab/tasks/asr.py"} <= set(files)
    assert not [f for f in files if f.startswith(("modellab/site/", "modellab/analysis/"))]
    code = package_copy / "modellab"
    before = code_fingerprint(ASR_CELL, root=package_copy)
    for unrelated in ("site/build.py", "analysis/findings.py", "metrics/diarization.py"):
        _append(code / unrelated)
        assert code_fingerprint(ASR_CELL, root=package_copy) == before, unrelated
    seen = {before}
    for scoring in ("metrics/wer.py", "metrics/normalizers.py"):
        _append(code / scoring)
        now = code_fingerprint(ASR_CELL, root=package_copy)
        assert now not in seen, scoring
        seen.add(now)


def test_fingerprint_is_cheap_when_warm() -> None:
    import time

    code_fingerprint(ASR_CELL)
    tic = time.perf_counter()
    for _ in range(20):
        code_fingerprint(ASR_CELL)
    assert (time.perf_counter() - tic) / 20 < 0.02  # measured ~0.2 ms: stat calls only


# --- a sweep on a copy of the package: the cell index and the cell key ----------------------------


def _sweep(root: Path, results: Path, name: str) -> str:
    """Run the one-cell sweep on the package at ``root``; its console output (stdout and stderr)."""
    cmd = [
        sys.executable,
        "-m",
        "modellab",
        "-m",
        f"hydra.sweep.dir={root.parent / name}",
        "+model=dummy_asr",
        "task=asr",
        "dataset=cards_golden_v1",
        f"results_dir={results}",
        "progress=false",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELLAB_") and k != "PYTHONPATH"}
    env["MODELLAB_DATA_DIR"] = str(REPO / "data")
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def _composed_jobs(sweep_dir: Path) -> list[Path]:
    return [p for p in sweep_dir.iterdir() if p.is_dir()] if sweep_dir.is_dir() else []


def test_editing_a_scoring_module_recomputes_the_cell_and_editing_the_site_does_not(package_copy: Path) -> None:
    results = package_copy.parent / "results"
    _sweep(package_copy, results, "first")
    (first,) = [r[0] for r in connect(results).sql("SELECT run_id FROM runs").fetchall()]

    _append(package_copy / "modellab" / "site" / "build.py")
    site = _sweep(package_copy, results, "after_site_edit")
    assert f"unchanged, reusing run {first}" in site
    assert _composed_jobs(package_copy.parent / "after_site_edit") == []  # skipped by the index, not composed

    _append(package_copy / "modellab" / "metrics" / "wer.py")
    scoring = _sweep(package_copy, results, "after_wer_edit")
    assert "unchanged, reusing run" not in scoring  # neither the index nor the runner's cache reused it
    run_ids = sorted(r[0] for r in connect(results).sql("SELECT run_id FROM runs").fetchall())
    assert len(run_ids) == 2 and first in run_ids
