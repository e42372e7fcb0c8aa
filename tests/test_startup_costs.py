"""What a single ``python -m modellab`` run does not pay for any more (issue 19, start-up): a second
Hydra composition, pandas (pulled in by ``pa.array``), DuckDB, and re-reading and re-parsing its code
closure in every process. Each saving keeps the result it replaced: the same run mode, the same
Parquet bytes, the same code fingerprint."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from modellab.results import store
from modellab.run import codehash
from tests.conftest import REPO

# --- one composition ------------------------------------------------------------------------------


def test_no_config_file_sets_hydra_mode() -> None:
    """``__main__._compose_once`` relies on it: Hydra's mode probe would only ever read None."""
    setting = []
    for path in sorted((REPO / "conf").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            continue
        hydra = data.get("hydra")
        if (isinstance(hydra, dict) and "mode" in hydra) or ("hydra" in path.parts and "mode" in data):
            setting.append(str(path.relative_to(REPO)))
    assert setting == []


def test_only_an_override_of_hydra_mode_counts_as_setting_it() -> None:
    from modellab.__main__ import _sets_mode

    assert _sets_mode("hydra.mode=MULTIRUN") and _sets_mode("++hydra.mode=RUN") and _sets_mode("+hydra.mode=RUN")
    assert not _sets_mode("hydra.mode_of_x=1") and not _sets_mode("+model=dummy_asr")
    assert not _sets_mode("hydra.job.chdir=false") and not _sets_mode("mode=x")


# Runs the CLI in a child that counts Hydra's compositions and lists the heavy modules it imported.
_PROBE = """
import atexit, json, runpy, sys
from hydra._internal.config_loader_impl import ConfigLoaderImpl
calls = []
original = ConfigLoaderImpl.load_configuration
def counted(self, *args, **kwargs):
    calls.append(1)
    return original(self, *args, **kwargs)
ConfigLoaderImpl.load_configuration = counted
atexit.register(lambda: print("PROBE " + json.dumps(
    {"composed": len(calls), "loaded": sorted(m for m in ("pandas", "duckdb") if m in sys.modules)})))
sys.argv = ["modellab", *sys.argv[1:]]
runpy.run_module("modellab", run_name="__main__", alter_sys=True)
"""


def _probe(tmp_path: Path, *overrides: str) -> dict[str, object]:
    cmd = [sys.executable, "-c", _PROBE, "+model=dummy_asr", "task=asr", f"results_dir={tmp_path / 'results'}"]
    cmd += ["progress=false", f"hydra.run.dir={tmp_path / 'out'}", *overrides]
    env = {**os.environ, "MODELLAB_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    return dict(json.loads(line.removeprefix("PROBE ")))


@pytest.mark.slow
def test_a_single_run_composes_once_and_loads_neither_pandas_nor_duckdb(tmp_path: Path) -> None:
    assert _probe(tmp_path) == {"composed": 1, "loaded": []}
    # with the mode on the command line, Hydra's own probe composes first, as before
    assert _probe(tmp_path, "hydra.mode=RUN", "force=true")["composed"] == 2


# --- Parquet rows without pandas ------------------------------------------------------------------


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


COLUMNS: dict[str, tuple[list[Any], pa.DataType]] = {
    "nothing": ([None, None, None], pa.null()),
    "flag": ([True, None, False], pa.bool_()),
    "count": ([3, None, -(2**63)], pa.int64()),
    "value": ([0.25, None, float("nan")], pa.float64()),
    "mixed": ([1, 2.5, None], pa.float64()),  # ints among floats: doubles, as pyarrow infers
    "text": (["é ✓", None, ""], pa.string()),
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_a_plain_column_gets_pyarrows_own_type_and_bytes(name: str) -> None:
    values, expected_type = COLUMNS[name]
    built = store._column(values)
    built.validate(full=True)
    assert built.type == expected_type
    if name != "mixed":  # (that one holds doubles: the next test)
        assert repr(built.to_pylist()) == repr(values)  # repr: nan == nan
    assert _parquet(pa.Table.from_arrays([built], names=[name])) == _parquet(pa.table({name: pa.array(values)}))


def test_a_mixed_int_and_float_column_holds_doubles() -> None:
    assert store._column([1, 2.5, None]).to_pylist() == [1.0, 2.5, None]


@pytest.mark.parametrize(
    "values",
    [[2**63], [2**53 + 1, 0.5], [True, 1], [1.5, True], ["a", 1], [{"k": 1}], ["\ud800"]],
    ids=["over-int64", "inexact-double", "bool-int", "float-bool", "str-int", "dict", "surrogate"],
)
def test_anything_else_is_left_to_pyarrow_with_its_result_or_its_error(values: list[object]) -> None:
    try:
        expected: object = pa.array(values)
    except Exception as exc:  # noqa: BLE001 - the error is the expected result
        expected = type(exc)
    try:
        got: object = store._column(values)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    assert got == expected if isinstance(expected, type) else expected.equals(got)  # type: ignore[attr-defined]


def test_a_stored_table_reads_back_as_written(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"run_id": "r1", "n": 5, "wer": 0.0423, "ok": True, "extra": {"a": 1}},
        {"run_id": "r1", "n": None, "wer": None, "ok": False, "note": "only here"},
    ]
    path = store.ResultsStore(tmp_path).write_atomic("samples", "r1", rows)
    table = pq.read_table(path)
    assert table.schema.names == ["run_id", "n", "wer", "ok", "extra", "note"]
    assert [str(t) for t in table.schema.types] == ["string", "int64", "double", "bool", "string", "string"]
    assert table.to_pylist() == [
        {"run_id": "r1", "n": 5, "wer": 0.0423, "ok": True, "extra": '{"a": 1}', "note": None},
        {"run_id": "r1", "n": None, "wer": None, "ok": False, "extra": None, "note": "only here"},
    ]


# --- the code fingerprint's disk cache ------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """modellab/{__init__,cell,scoring}.py plus a data folder; a cache folder of its own; every file
    counts as settled (RACY_S 0) so that it is kept on disk."""
    root = tmp_path / "src"
    (root / "modellab" / "templates").mkdir(parents=True)
    (root / "modellab" / "__init__.py").write_text("", encoding="utf-8")
    (root / "modellab" / "cell.py").write_text("from modellab.scoring import score\n", encoding="utf-8")
    (root / "modellab" / "scoring.py").write_text("def score():\n    return 1\n", encoding="utf-8")
    (root / "modellab" / "templates" / "page.html").write_text("<p>1</p>\n", encoding="utf-8")
    monkeypatch.setenv("MODELLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(codehash, "RACY_S", 0.0)
    _new_process(monkeypatch)
    return root


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process read: as a new process, only the disk cache remains."""
    monkeypatch.setattr(codehash, "_SOURCES", {})
    monkeypatch.setattr(codehash, "_FINGERPRINTS", {})
    monkeypatch.setattr(codehash, "_DISK", {})
    codehash._data_digest.cache_clear()


def _no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path) -> bytes:
        raise AssertionError(f"read {self}")

    monkeypatch.setattr(Path, "read_bytes", refuse)


def test_a_new_process_takes_digests_and_imports_from_the_cache_without_reading(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = codehash.code_fingerprint(["modellab.cell"], root=tree)
    cached = json.loads((tree.parent / "cache" / "codehash.json").read_text(encoding="utf-8"))["entries"]
    files = sorted(key.split("\0")[0] + " " + Path(key.split("\0")[-1]).name for key in cached if "versions" not in key)
    assert files == ["data templates", "source __init__.py", "source cell.py", "source scoring.py"]
    _new_process(monkeypatch)
    with monkeypatch.context() as m:
        _no_reads(m)
        assert codehash.code_fingerprint(["modellab.cell"], root=tree) == first
        assert codehash.source_closure(["modellab.cell"], root=tree) == [
            "modellab/__init__.py",
            "modellab/cell.py",
            "modellab/scoring.py",
            "modellab/templates",
        ]


def test_the_cached_fingerprint_is_the_uncached_one(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codehash.code_fingerprint(["modellab.cell"], root=tree)  # fills the cache
    _new_process(monkeypatch)
    warm = codehash.code_fingerprint(["modellab.cell"], root=tree)
    monkeypatch.setenv("MODELLAB_CACHE_DIR", str(tree.parent / "elsewhere"))
    _new_process(monkeypatch)
    assert codehash.code_fingerprint(["modellab.cell"], root=tree) == warm


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scoring = tree / "modellab" / "scoring.py"
    before = codehash.code_fingerprint(["modellab.cell"], root=tree)
    stat = scoring.stat()
    scoring.write_text("def score():\n    return 2\n", encoding="utf-8")  # same size
    os.utime(scoring, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: only ctime tells
    _new_process(monkeypatch)
    edited = codehash.code_fingerprint(["modellab.cell"], root=tree)
    assert edited != before
    monkeypatch.setenv("MODELLAB_CACHE_DIR", str(tree.parent / "elsewhere"))
    _new_process(monkeypatch)
    assert codehash.code_fingerprint(["modellab.cell"], root=tree) == edited


def test_a_data_file_edit_changes_the_fingerprint_across_processes(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = codehash.code_fingerprint(["modellab.cell"], root=tree)
    (tree / "modellab" / "templates" / "page.html").write_text("<p>2</p>\n", encoding="utf-8")
    _new_process(monkeypatch)
    assert codehash.code_fingerprint(["modellab.cell"], root=tree) != before


def test_a_file_written_just_now_is_not_kept(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codehash, "RACY_S", 3600.0)  # everything here was written within the hour
    codehash.code_fingerprint(["modellab.cell"], root=tree)
    assert not (tree.parent / "cache" / "codehash.json").exists()


def test_an_unreadable_cache_file_is_ignored(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = codehash.code_fingerprint(["modellab.cell"], root=tree)
    (tree.parent / "cache" / "codehash.json").write_text("{not json", encoding="utf-8")
    _new_process(monkeypatch)
    assert codehash.code_fingerprint(["modellab.cell"], root=tree) == expected
    assert json.loads((tree.parent / "cache" / "codehash.json").read_text(encoding="utf-8"))["version"] == 1


def test_installed_versions_are_read_again_only_when_the_installed_distributions_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    monkeypatch.setenv("MODELLAB_CACHE_DIR", str(tmp_path / "cache"))
    _new_process(monkeypatch)
    expected = {"numpy": metadata.version("numpy"), "jiwer": metadata.version("jiwer")}
    assert codehash.installed_versions(["numpy", "no-such-distribution", "jiwer"]) == expected
    _new_process(monkeypatch)
    monkeypatch.setattr(codehash.metadata, "version", lambda name: "9.9")
    assert codehash.installed_versions(["numpy", "no-such-distribution", "jiwer"]) == expected  # from disk
    monkeypatch.setattr(codehash, "_distribution_listing", lambda: "another install")  # e.g. an upgrade
    assert codehash.installed_versions(["numpy", "jiwer"]) == {"numpy": "9.9", "jiwer": "9.9"}
