"""The sweep-level cell index: lets a re-run of an unchanged sweep skip its cells before Hydra
composes them (composition and cell building cost ~0.5 s a cell, which would otherwise dominate
a re-run).

After a cell runs (or is reused) inside a Hydra job, ``remember_cell`` writes
``results/index/<job key>.json``: the run id, the size and mtime of every file the dataset reads,
and the cell's code (the modules it starts from and their fingerprint, see
:mod:`modellab.run.codehash`). The job key hashes what decides a job's config without composing
it: the job's overrides, every YAML file of the config search path and the ``MODELLAB_*``
environment. The sweeper (``hydra_plugins.modellab_sweeper``) computes the same key from a job's
overrides and skips the job when an entry exists, its files are unchanged, the code it ran has the
same fingerprint and its run is still in the store. Anything else (a changed config file, code the
cell runs, data file, ``force=true``) falls through to the normal path, where the runner's cell
key decides.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modellab.run.codehash import code_fingerprint

__all__ = ["forces", "job_key", "lookup", "remember_cell", "run_exists", "source_dirs"]

_INDEX = "index"


@functools.lru_cache(maxsize=8)
def _conf_digest(dirs: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for folder in dirs:
        base = Path(folder)
        for path in sorted(base.rglob("*.yaml")) if base.is_dir() else []:
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def source_dirs(hydra_node: Any) -> tuple[str, ...]:
    """The file directories of the config search path (``hydra.runtime.config_sources``)."""
    dirs = []
    for source in hydra_node.runtime.config_sources or []:
        if source.get("schema") == "file" and source.get("path"):
            dirs.append(str(source.path))
    from modellab.config import CONF_DIR

    return tuple(sorted({*dirs, str(CONF_DIR)}))


def forces(override: str) -> bool:
    """Whether one override is ``force=true`` (such jobs always run)."""
    key, _, value = override.partition("=")
    return key.lstrip("+~") == "force" and value.strip().lower() in ("true", "1", "yes", "on")


def job_key(overrides: list[str], dirs: tuple[str, ...]) -> str:
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("MODELLAB_"))
    blob = json.dumps([sorted(overrides), _conf_digest(dirs), env])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _signature(paths: list[str]) -> list[list[Any]]:
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([path, None, None])
    return out


def _dataset_files(dataset: Any) -> list[str]:
    files = []
    manifest = getattr(dataset, "manifest_path", None)
    if getattr(dataset, "manifest", None) and manifest is not None:
        files.append(str(manifest))
    for sample in dataset.samples():
        files += [p for p in (sample.audio_path, sample.rttm_path, sample.stm_path) if p]
    return sorted(set(files))


def remember_cell(
    results_dir: str | os.PathLike[str],
    dataset: Any,
    run_id: str,
    status: str,
    label: str,
    code_modules: Sequence[str],
) -> None:
    """Record a finished (or reused) cell of the running Hydra job; a no-op outside Hydra jobs.

    ``code_modules``: the modules the cell's code starts from (:func:`modellab.run.codehash.cell_modules`).
    """
    from hydra.core.hydra_config import HydraConfig

    if status == "failed" or not HydraConfig.initialized():
        return
    hc = HydraConfig.get()
    # Recorded under the key of the same job without force=..., so the next plain sweep reuses
    # the latest run of the cell, as the runner's own cache would.
    overrides = [o for o in hc.overrides.task if o.partition("=")[0].lstrip("+~") != "force"]
    key = job_key(overrides, source_dirs(hc))
    modules = sorted(code_modules)
    entry = {
        "run_id": run_id,
        "label": label,
        "files": _signature(_dataset_files(dataset)),
        "code": {"modules": modules, "fingerprint": code_fingerprint(modules)},
    }
    folder = Path(results_dir) / _INDEX
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(entry))
    os.replace(tmp, folder / f"{key}.json")


def run_exists(results_dir: str | os.PathLike[str], run_id: str, _compacted: dict[str, set[str]] = {}) -> bool:  # noqa: B006
    """Whether the store still has this run (a per-run file, or a row in a compacted file)."""
    runs = Path(results_dir) / "runs"
    if (runs / f"{run_id}.parquet").exists():
        return True
    compacted = sorted(runs.glob("compacted-*.parquet"))
    if not compacted:
        return False
    stamp = str([(p.name, p.stat().st_mtime_ns) for p in compacted])
    if stamp not in _compacted:
        import pyarrow.parquet as pq

        _compacted.clear()
        _compacted[stamp] = {r for p in compacted for r in pq.read_table(p, columns=["run_id"]).column(0).to_pylist()}
    return run_id in _compacted[stamp]


def lookup(results_dir: str | os.PathLike[str], key: str) -> dict[str, Any] | None:
    """The index entry of an unchanged, still stored cell; None otherwise."""
    path = Path(results_dir) / _INDEX / f"{key}.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    files = [f[0] for f in entry.get("files", [])]
    if _signature(files) != entry.get("files") or not _same_code(entry.get("code")):
        return None
    if not run_exists(results_dir, entry.get("run_id", "")):
        return None
    return entry


def _same_code(code: Any) -> bool:
    """Whether the code an index entry's cell ran is unchanged (entries from before it was recorded: no)."""
    if not isinstance(code, dict) or not code.get("modules"):
        return False
    return code_fingerprint(code["modules"]) == code.get("fingerprint")
