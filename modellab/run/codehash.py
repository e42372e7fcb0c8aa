"""The code a cell ran: one definition, used by the cell key, the sweep's cell index and ``dvc.yaml``.

A cell's code is the transitive closure of the modellab modules it imports, starting from the
modules defining its model, task and preprocessing classes plus the runner, followed through every
``import`` in the source (``ast``; imports inside functions too, as adapters import lazily), with
the data files (templates, static assets) of the packages on the way. Its fingerprint hashes those
files' paths and contents, plus the installed versions of the libraries that produce the numbers
(:data:`NUMERIC_LIBRARIES`). So editing ``metrics/wer.py`` changes the fingerprint of every ASR cell
and recomputes them; editing ``site/build.py`` changes none.

Cheap by design: each file is read and parsed once per process and re-read only when its size or
mtime changes; library versions are read once per process.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from modellab.config import REPO_ROOT

__all__ = [
    "NUMERIC_LIBRARIES",
    "PACKAGE",
    "RUNNER_MODULES",
    "cell_modules",
    "code_fingerprint",
    "is_ours",
    "library_versions",
    "module_file",
    "source_closure",
]

PACKAGE = "modellab"
# The code around every cell: it times the model, aggregates the scores, adds intervals and stores them.
RUNNER_MODULES: tuple[str, ...] = ("modellab.run.runner",)
# Distributions whose version can change a cell's numbers (those installed count).
NUMERIC_LIBRARIES: tuple[str, ...] = (
    "av",
    "ctranslate2",
    "distillmos",
    "faster-whisper",
    "jiwer",
    "meeteval",
    "numpy",
    "onnxruntime",
    "openai-whisper",
    "piper-tts",
    "pyannote.audio",
    "pyannote.metrics",
    "pyloudnorm",
    "pywhispercpp",
    "rapidfuzz",
    "resemblyzer",
    "sacrebleu",
    "scikit-learn",
    "scipy",
    "silero-vad",
    "soundfile",
    "speechmos",
    "torch",
    "torchaudio",
    "transformers",
    "webrtcvad-wheels",
    "whisper-normalizer",
    "xls-r-sqa",
)


def _plugin_root(root: Path) -> Path:
    """Where the Hydra plugins (``hydra_plugins.*``) live; ``python -m modellab`` puts it on sys.path."""
    return root / PACKAGE / "plugins"


def _base(module: str, root: Path) -> Path | None:
    top = module.split(".")[0]
    if top == PACKAGE:
        return root
    if top and (_plugin_root(root) / top).is_dir():
        return _plugin_root(root)
    return None


def is_ours(module: str, root: Path = REPO_ROOT) -> bool:
    """A module of this repository (the package or one of its Hydra plugins)."""
    return _base(module, root) is not None


def module_file(module: str, root: Path = REPO_ROOT) -> Path | None:
    """The file defining ``module`` (a package's ``__init__.py``), or None if it is not ours."""
    base = _base(module, root)
    if base is None:
        return None
    path = base.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


@dataclass(frozen=True)
class _Source:
    digest: str  # sha256 of the file's bytes
    imports: frozenset[str]  # modellab modules (and candidate submodules) it imports


_SOURCES: dict[tuple[str, Path], tuple[tuple[int, int], _Source]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _parse_imports(module: str, path: Path, data: bytes, root: Path) -> frozenset[str]:
    try:
        tree = ast.parse(data, filename=str(path))
    except SyntaxError as exc:
        raise SyntaxError(f"{path}: cannot parse it to follow its imports ({exc.msg}, line {exc.lineno})") from exc
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return frozenset(n for n in names if is_ours(n, root))


def _source(module: str, path: Path, root: Path) -> tuple[tuple[int, int], _Source]:
    """The stamp, digest and imports of one file, from the per-process cache unless the file changed."""
    stamp = _stamp(path)
    cached = _SOURCES.get((module, path))
    if cached is not None and cached[0] == stamp:
        return cached
    data = path.read_bytes()
    found = _Source(hashlib.sha256(data).hexdigest(), _parse_imports(module, path, data, root))
    _SOURCES[(module, path)] = (stamp, found)
    return stamp, found


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _package_data(init: Path) -> list[Path]:
    """Non-Python files and non-package folders (templates, static) right inside a package."""
    out = []
    for child in sorted(init.parent.iterdir()):
        if child.name.startswith((".", "__pycache__")):
            continue
        if child.is_dir():
            files = [f for f in child.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
            if files and not any(f.suffix == ".py" for f in files):  # Python inside: a (namespace) package
                out.append(child)
        elif child.suffix not in (".py", ".pyc"):
            out.append(child)
    return out


def _closure(modules: Iterable[str], root: Path) -> tuple[dict[Path, str], dict[Path, tuple[int, int]]]:
    """Every file the modules run -> its digest (a data folder's digest covers the files in it), and
    the size and mtime each source file had when it was read."""
    seen: set[str] = set()
    files: dict[Path, str] = {}
    stamps: dict[Path, tuple[int, int]] = {}
    todo = [m for module in modules for m in _with_parents(module)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module, root)
        if path is None:
            continue
        stamps[path], source = _source(module, path, root)
        files[path] = source.digest
        if path.name == "__init__.py":
            files.update((data, _data_digest(data)) for data in _package_data(path))
        for name in source.imports:
            todo.extend(m for m in _with_parents(name) if m not in seen)
    return files, stamps


@functools.cache
def _data_digest(path: Path) -> str:
    """Digest of a package data file or folder (templates, static); read once per process."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file() and "__pycache__" not in file.parts:
            digest.update(file.relative_to(path.parent).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()


def source_closure(modules: Iterable[str], root: Path = REPO_ROOT) -> list[str]:
    """Root-relative paths of every file the given modules run, sorted (code deps of a DVC stage)."""
    return sorted(p.relative_to(root).as_posix() for p in _closure(modules, root)[0])


@functools.lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str], ...]:
    """(distribution, version) of the installed :data:`NUMERIC_LIBRARIES`."""
    found = []
    for name in NUMERIC_LIBRARIES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


def cell_modules(*components: object) -> tuple[str, ...]:
    """The modules a cell's code starts from: those defining its components' classes, and the runner."""
    modules = {klass.__module__ for obj in components for klass in type(obj).__mro__ if is_ours(klass.__module__)}
    return tuple(sorted(modules | set(RUNNER_MODULES)))


_FINGERPRINTS: dict[tuple[tuple[str, ...], Path], tuple[dict[Path, tuple[int, int]], str]] = {}


def _unchanged(stamps: dict[Path, tuple[int, int]]) -> bool:
    try:
        return all(_stamp(path) == stamp for path, stamp in stamps.items())
    except OSError:  # a file was removed
        return False


def code_fingerprint(modules: Iterable[str], root: Path = REPO_ROOT) -> str:
    """sha256 (hex) of the code the modules run: their closure's files, and the numeric libraries' versions.

    Cached per process: a repeated call only checks the size and mtime of the closure's source files.
    """
    key = (tuple(sorted(set(modules))), root)
    cached = _FINGERPRINTS.get(key)
    if cached is not None and _unchanged(cached[0]):
        return cached[1]
    files, stamps = _closure(key[0], root)
    blob = json.dumps(
        {
            "files": sorted((p.relative_to(root).as_posix(), d) for p, d in files.items()),
            "libraries": library_versions(),
        }
    )
    fingerprint = hashlib.sha256(blob.encode()).hexdigest()
    _FINGERPRINTS[key] = (stamps, fingerprint)
    return fingerprint


if __name__ == "__main__":  # `python -m modellab.run.codehash MODULE...`: what the fingerprint covers
    import sys

    targets = sys.argv[1:] or list(RUNNER_MODULES)
    print("\n".join(source_closure(targets)))
    print("\n".join(f"{name}=={version}" for name, version in library_versions()))
    print(f"fingerprint {code_fingerprint(targets)}")
