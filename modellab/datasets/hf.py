"""Hugging Face ``datasets``: a hub dataset (online, materialised once) or a local one.

``options.path`` is a hub id (``hf-internal-testing/librispeech_asr_dummy``) or a local folder
(written by ``save_to_disk``, or holding data files such as Parquet). ``columns`` declares which
dataset column feeds which sample field -- ``audio`` is required; ``sample_id``, ``text``,
``speaker``, ``language`` and ``duration`` are optional (without ``sample_id`` the id is
``<split>-<row>``). Nothing is guessed.

Materialising writes the audio bytes (never decoded, so no audio backend of ``datasets`` is
needed) to ``root/audio/`` and a JSONL manifest to ``root/manifest.jsonl``; from then on the set
is read like any manifest, offline. A hub dataset needs the network once:
``HF_HUB_OFFLINE=0 python -m modellab.datasets build <name>`` (``build --all`` skips it).

``options.data_files`` (optional) reads Parquet files at that glob inside the repository or folder
(``{name}`` and ``{split}`` are filled in), for sets published only as a Parquet export, such as
``google/fleurs`` at revision ``refs/convert/parquet`` (``fr_fr/test/*.parquet``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from modellab.datasets.base import Dataset, DatasetError, DatasetNotAvailableError
from modellab.datasets.formats import audio_duration
from modellab.datasets.manifest import ManifestDataset, write_manifest
from modellab.types import Sample

__all__ = ["HFDataset", "HFOptions"]

COLUMN_FIELDS = ("sample_id", "audio", "text", "speaker", "language", "duration")
_MAGIC = ((b"RIFF", "wav"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3", "mp3"), (b"\xff\xfb", "mp3"))
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class HFOptions:
    path: str  # hub id, or a local folder (save_to_disk output or data files)
    name: str | None  # the dataset's config name (null: the default one)
    split: str  # e.g. test, validation
    revision: str | None  # hub revision (branch, tag or commit); null: the default branch
    data_files: str | None = None  # a Parquet glob inside the repo/folder ({name}, {split} filled in)


def _extension(audio: dict[str, Any]) -> str:
    suffix = Path(audio.get("path") or "").suffix.lstrip(".").lower()
    if suffix:
        return suffix
    head = (audio.get("bytes") or b"")[:4]
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return ext
    return "wav"


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


class HFDataset(Dataset):
    """A split of a ``datasets`` dataset, materialised under ``root`` as audio files + manifest."""

    Options = HFOptions
    FIELDS: ClassVar[tuple[str, ...]] = COLUMN_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unknown = sorted(set(self.columns) - set(self.FIELDS))
        if unknown:
            raise DatasetError(f"conf/dataset/{self.name}.yaml columns: unknown fields {unknown}; valid: {self.FIELDS}")
        if "audio" not in self.columns:
            raise DatasetError(f"conf/dataset/{self.name}.yaml columns: declare the audio column (columns.audio)")
        self.manifest = self.manifest or "manifest.jsonl"

    @property
    def local(self) -> bool:
        return Path(self.options.path).expanduser().is_dir()

    @property
    def needs_network(self) -> bool:  # type: ignore[override]
        return not self.local

    def _load(self) -> Any:
        import datasets

        path = Path(self.options.path).expanduser()
        if self.local and any((path / f).exists() for f in ("state.json", "dataset_dict.json")):
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                if self.options.split not in loaded:
                    raise DatasetError(f"{path}: no split '{self.options.split}' (has {sorted(loaded)})")
                loaded = loaded[self.options.split]
            return loaded
        if not self.local and _offline():
            raise DatasetNotAvailableError(self._not_materialised())
        try:
            if self.options.data_files:
                return datasets.load_dataset(
                    "parquet", data_files={self.options.split: self._data_files()}, split=self.options.split
                )
            return datasets.load_dataset(
                str(path) if self.local else self.options.path,
                self.options.name,
                split=self.options.split,
                revision=self.options.revision,
            )
        except Exception as exc:  # noqa: BLE001 - offline, gated, moved: name the set, the source and the way out
            if self.local:
                raise
            raise DatasetNotAvailableError(f"{self._not_materialised()} ({type(exc).__name__}: {exc})") from exc

    def _not_materialised(self) -> str:
        return (
            f"dataset '{self.name}' comes from the Hugging Face hub ({self.options.path}"
            f"{', config ' + self.options.name if self.options.name else ''}, split {self.options.split}"
            f"{' @ ' + self.options.revision if self.options.revision else ''}) and is not materialised at "
            f"{self.root}; fetch it once: HF_HUB_OFFLINE=0 python -m modellab.datasets build {self.name} "
            f"(or run that on a machine with network and copy {self.root} here)"
        )

    def _data_files(self) -> str:
        """``options.data_files`` as a path: inside the local folder, or ``hf://`` on the hub."""
        pattern = str(self.options.data_files).format(name=self.options.name, split=self.options.split)
        if self.local:
            return str(Path(self.options.path).expanduser() / pattern)
        revision = f"@{quote(self.options.revision, safe='')}" if self.options.revision else ""
        return f"hf://datasets/{self.options.path}{revision}/{pattern}"

    def extra_fields(self, item: dict[str, Any], sample_id: str, relative_audio: str) -> dict[str, Any]:
        """More manifest fields from one row (subclasses: e.g. an RTTM written from speaker turns)."""
        return {}

    def ensure_built(self) -> None:
        if self.is_built():
            return
        import datasets

        table = self._load()
        missing = sorted({c for c in self.columns.values() if c not in table.column_names})
        if missing:
            raise DatasetError(
                f"conf/dataset/{self.name}.yaml columns: {missing} not in {self.options.path} (has {table.column_names})"
            )
        audio_col = self.columns["audio"]
        table = table.cast_column(audio_col, datasets.Audio(decode=False))
        rows = []
        for index, item in enumerate(table):
            sample_id = (
                str(item[self.columns["sample_id"]]) if "sample_id" in self.columns else f"{self.options.split}-{index}"
            )
            audio = item[audio_col] or {}
            data = audio.get("bytes")
            if data is None and audio.get("path") and Path(audio["path"]).is_file():
                data = Path(audio["path"]).read_bytes()
            if not data:
                raise DatasetError(f"{self.options.path} row {index} ('{sample_id}'): no audio bytes in '{audio_col}'")
            relative = f"audio/{index:06d}-{_UNSAFE.sub('_', sample_id)[:80]}.{_extension(audio)}"
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            row: dict[str, Any] = {"sample_id": sample_id, "audio": relative}
            for field in ("text", "speaker", "language", "duration"):
                if field in self.columns:
                    value = item[self.columns[field]]
                    row[field] = value if field == "duration" or value is None else str(value)
            if row.get("duration") is None:
                row["duration"] = audio_duration(target)
            row.update(self.extra_fields(item, sample_id, relative))
            rows.append(row)
        write_manifest(self.root, rows, self.manifest or "manifest.jsonl")

    def read_samples(self) -> list[Sample]:
        manifest = ManifestDataset(
            name=self.name, root=str(self.root), manifest=self.manifest, kind=self.kind, language=self.language
        )
        return manifest.read_samples()
