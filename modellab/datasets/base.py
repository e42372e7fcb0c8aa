"""Dataset base class: declared columns, golden/smoke kind, content hash, build-on-demand."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from modellab.config.options import NoOptions, plain_value, typed_options
from modellab.types import Sample

__all__ = ["Dataset", "DatasetError", "DatasetNotAvailableError", "resolve_inside"]


class DatasetError(ValueError):
    """A dataset's files are malformed; the message names the file (and line) and the problem."""


class DatasetNotAvailableError(FileNotFoundError):
    """A dataset is not on this machine and cannot be built here; the message says how to get it."""


def resolve_inside(root: Path, relative: str, where: str) -> Path:
    """Resolve a manifest path inside ``root``; refuse paths that escape it."""
    if "\x00" in relative:
        raise DatasetError(f"{where}: path {relative!r} contains a NUL byte")
    root = root.resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise DatasetError(f"{where}: path '{relative}' escapes the dataset root {root}")
    return path


class Dataset(ABC):
    """A named set of samples with references (``golden``) or without (``smoke``).

    Format-specific settings come from the YAML's ``options``, typed by the class's ``Options``
    dataclass (no defaults in Python: the values live once, in the YAML).
    """

    Options: ClassVar[type] = NoOptions
    needs_network: bool = False  # materialising it downloads (``build --all`` skips such datasets)

    def __init__(
        self,
        name: str,
        root: str,
        tasks: list[str] | None = None,
        kind: str = "golden",
        license: str = "unknown",
        description: str = "",
        manifest: str | None = None,
        columns: dict[str, str] | None = None,
        builder: Any = None,
        language: str = "en",
        limit: int | None = None,
        options: dict[str, Any] | None = None,
        _target_: str | None = None,
        role: str = "smoke",
    ) -> None:
        self.name = name
        self.root = Path(root).expanduser()
        self.tasks = list(tasks or [])
        self.kind = kind
        self.role = str(getattr(role, "value", role))  # quality | benchmark | smoke (conf/dataset)
        self.license = license
        self.description = description
        self.manifest = manifest
        self.columns = dict(columns or {})
        self.builder = OmegaConf.to_container(builder, resolve=True) if isinstance(builder, DictConfig) else builder
        self.language = language
        self.limit = limit
        self.options = typed_options(self.Options, plain_value(options), f"conf/dataset/{name}.yaml options")
        self._samples: list[Sample] | None = None

    # --- what subclasses implement -----------------------------------------------------
    @abstractmethod
    def read_samples(self) -> list[Sample]:
        """Parse the dataset's files into samples (audio paths absolute and inside ``root``)."""

    def is_built(self) -> bool:
        return self.manifest_path.exists() if self.manifest else self.root.exists()

    # --- shared machinery --------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / (self.manifest or "")

    def ensure_built(self) -> None:
        if self.is_built():
            return
        if not self.builder:
            raise DatasetNotAvailableError(
                f"dataset '{self.name}': nothing at {self.root}. Put the data there "
                f"(or `dvc pull` it) or override dataset.root=/path/to/{self.name}"
            )
        build = instantiate(self.builder, _partial_=True)
        build(root=self.root)

    def available(self) -> bool:
        try:
            self.ensure_built()
        except Exception:  # noqa: BLE001 - any failure means "not available here"
            return False
        return self.is_built()

    def samples(self) -> list[Sample]:
        if self._samples is None:
            self.ensure_built()
            samples = self.read_samples()
            seen: set[str] = set()
            for s in samples:
                if s.sample_id in seen:
                    raise DatasetError(
                        f"dataset '{self.name}' ({self.manifest_path}): duplicate sample id '{s.sample_id}'"
                    )
                seen.add(s.sample_id)
            self._samples = samples[: self.limit] if self.limit else samples
        return self._samples

    def content_hash(self) -> str:
        """sha256 over sample ids, references and audio bytes (memoised by file size and mtime)."""
        memo_path = self.root / ".modellab-hashes.json"
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError):
            memo = {}
        digest = hashlib.sha256()
        changed = False
        for s in self.samples():
            digest.update(s.sample_id.encode())
            digest.update(json.dumps([s.text, s.offset_s, s.duration_s, s.speaker], default=str).encode())
            for path in (s.audio_path, s.rttm_path, s.stm_path):
                if not path:
                    continue
                p = Path(path)
                try:
                    st = p.stat()
                except OSError:
                    digest.update(b"missing")
                    continue
                key = f"{p}:{st.st_size}:{st.st_mtime_ns}"
                if key not in memo:
                    memo[key] = hashlib.sha256(p.read_bytes()).hexdigest()
                    changed = True
                digest.update(memo[key].encode())
        if changed:
            try:
                memo_path.write_text(json.dumps(memo))
            except OSError:
                pass
        return digest.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tasks": self.tasks,
            "kind": self.kind,
            "license": self.license,
            "description": self.description,
            "root": str(self.root),
        }
