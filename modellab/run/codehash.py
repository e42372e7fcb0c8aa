"""The code a cell ran: one definition, used by the cell key, the sweep's cell index and ``dvc.yaml``.

A cell's code is the transitive closure of the modellab modules it imports, starting from the
modules defining its model, task and preprocessing classes plus the runner, followed through every
``import`` in the source (``ast``; imports inside functions too, as adapters import lazily), with
the data files (templates, static assets) of the packages on the way. Its fingerprint hashes those
files' paths and contents, plus the installed versions of the libraries that produce the numbers
(:data:`NUMERIC_LIBRARIES`). So editing ``metrics/wer.py`` changes the fingerprint of every ASR cell
and recomputes them; editing ``site/build.py`` changes none.

Cheap by design: each file is read and parsed once per process and re-read only when its stamp
(size, mtime, ctime, inode) changes; library versions are read once per process. Across processes, a file's digest and
imports (and a data folder's digest) are kept in ``codehash.json`` under the cache folder
(``$MODELLAB_CACHE_DIR``, else ``~/.cache/modellab``), keyed by the file's path, size, mtime, ctime
and inode: a new process stats the closure instead of reading and parsing it. The fingerprint is
still the hash of the contents (the same value as without the cache); a file changed less than
:data:`RACY_S` seconds ago is not stored, since a second edit within the clock's resolution could
leave its stamp unchanged.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from modellab.config import REPO_ROOT

__all__ = [
    "NUMERIC_LIBRARIES",
    "PACKAGE",
    "RACY_S",
    "RUNNER_MODULES",
    "cell_modules",
    "code_fingerprint",
    "installed_versions",
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


Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode: any write changes one of them
_SOURCES: dict[tuple[str, Path], tuple[Stamp, _Source]] = {}
RACY_S = 2.0  # a file written this recently may be written again with the same stamp: not kept on disk
_DISK_VERSION = 1


def _stamp(path: Path) -> Stamp:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _settled(stamps: Iterable[Stamp]) -> bool:
    """No file of ``stamps`` changed within the last :data:`RACY_S` seconds."""
    newest = max((max(s[1], s[2]) for s in stamps), default=0)
    return time.time_ns() - newest >= RACY_S * 1e9


def _cache_file() -> Path:
    env = os.environ.get("MODELLAB_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "modellab") / "codehash.json"


class _DiskCache:
    """``key -> [stamp, value]`` in one JSON file, read once per process, written back atomically
    when something was added. Unreadable or unwritable: every lookup misses, nothing fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dirty = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        ok = isinstance(data, dict) and data.get("version") == _DISK_VERSION and isinstance(data.get("entries"), dict)
        self.entries: dict[str, list[object]] = data["entries"] if ok else {}

    def get(self, key: str, stamp: tuple[object, ...]) -> object | None:
        entry = self.entries.get(key)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == list(stamp):
            return entry[1]
        return None

    def put(self, key: str, stamp: tuple[object, ...], value: object, settled: bool) -> None:
        if settled:
            self.entries[key] = [list(stamp), value]
            self.dirty = True

    def save(self) -> None:
        """Write the entries whose file still exists (keys end with the path) if any was added."""
        if not self.dirty:
            return
        self.dirty = False
        entries = {k: v for k, v in self.entries.items() if os.path.exists(k.rpartition("\0")[2])}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"version": _DISK_VERSION, "entries": entries}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


_DISK: dict[Path, _DiskCache] = {}


def _disk() -> _DiskCache:
    path = _cache_file()
    if path not in _DISK:
        _DISK[path] = _DiskCache(path)
    return _DISK[path]


def _imported_names(path: Path, data: bytes) -> list[str]:
    """Every module name ``path`` imports, ours or not, as written: a relative one keeps its leading
    dots (:func:`_resolve` makes it absolute), so the list does not depend on the module's name."""
    try:
        tree = ast.parse(data, filename=str(path))
    except SyntaxError as exc:
        raise SyntaxError(f"{path}: cannot parse it to follow its imports ({exc.msg}, line {exc.lineno})") from exc
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" if base.strip(".") else f"{base}{alias.name}" for alias in node.names)
    return sorted(names)


def _resolve(name: str, module: str, path: Path) -> str:
    """``name`` as an absolute module name: a relative one (``..x.y``) against ``module``'s package."""
    level = len(name) - len(name.lstrip("."))
    if not level:
        return name
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - level + 1])
    rest = name[level:]
    return f"{base}.{rest}" if rest else base


def _ours(names: Iterable[str], module: str, path: Path, root: Path) -> frozenset[str]:
    """The names (as :func:`_imported_names` gives them) that are modules of ours, absolute."""
    return frozenset(n for n in (_resolve(name, module, path) for name in names) if is_ours(n, root))


def _parse_imports(module: str, path: Path, data: bytes, root: Path) -> frozenset[str]:
    return _ours(_imported_names(path, data), module, path, root)


def _read_source(module: str, path: Path, root: Path, stamp: Stamp) -> _Source:
    """Digest and imports of one file: from the disk cache when its stamp matches, else read and parsed."""
    key = f"source\0{path}"
    cached = _disk().get(key, stamp)
    if isinstance(cached, list) and len(cached) == 2 and isinstance(cached[0], str) and isinstance(cached[1], list):
        return _Source(cached[0], _ours(map(str, cached[1]), module, path, root))
    data = path.read_bytes()
    digest, names = hashlib.sha256(data).hexdigest(), _imported_names(path, data)
    _disk().put(key, stamp, [digest, names], _settled([stamp]))
    return _Source(digest, _ours(names, module, path, root))


def _source(module: str, path: Path, root: Path) -> tuple[Stamp, _Source]:
    """The stamp, digest and imports of one file, from the per-process cache unless the file changed."""
    stamp = _stamp(path)
    cached = _SOURCES.get((module, path))
    if cached is not None and cached[0] == stamp:
        return cached
    found = _read_source(module, path, root, stamp)
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
            if _is_data_folder(child):
                out.append(child)
        elif child.suffix not in (".py", ".pyc"):
            out.append(child)
    return out


# Installed, not authored: an npm install is pinned by the package-lock.json beside it, which is hashed.
_SKIPPED_PARTS = frozenset({"__pycache__", "node_modules"})


def _files_below(folder: Path) -> list[Path]:
    """The files under ``folder``, sorted, without descending into installed or cached folders."""
    found: list[Path] = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_PARTS]
        found.extend(Path(here) / name for name in names)
    return sorted(found)


def _is_data_folder(folder: Path) -> bool:
    """Files inside and no Python file anywhere below (Python inside: a (namespace) package)."""
    if (folder / "__init__.py").is_file():
        return False
    has_files = False
    for f in _files_below(folder):
        if f.is_file():
            if f.suffix == ".py":
                return False
            has_files = True
    return has_files


def _closure(modules: Iterable[str], root: Path) -> tuple[dict[Path, str], dict[Path, Stamp]]:
    """Every file the modules run -> its digest (a data folder's digest covers the files in it), and
    the size and mtime each source file had when it was read."""
    seen: set[str] = set()
    files: dict[Path, str] = {}
    stamps: dict[Path, Stamp] = {}
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
    """Digest of a package data file or folder (templates, static): its files' relative paths and
    bytes. Computed once per process, and taken from the disk cache while no file in it changed."""
    files = [f for f in (_files_below(path) if path.is_dir() else [path]) if f.is_file()]
    names = [f.relative_to(path.parent).as_posix() for f in files]
    stamps = [_stamp(f) for f in files]
    listing = hashlib.sha256(json.dumps([[n, *s] for n, s in zip(names, stamps, strict=True)]).encode()).hexdigest()
    key = f"data\0{path}"
    cached = _disk().get(key, (listing,))
    if isinstance(cached, str):
        return cached
    digest = hashlib.sha256()
    for name, file in zip(names, files, strict=True):
        digest.update(name.encode() + b"\0")
        digest.update(file.read_bytes())
    _disk().put(key, (listing,), digest.hexdigest(), _settled(stamps))
    return digest.hexdigest()


def source_closure(modules: Iterable[str], root: Path = REPO_ROOT) -> list[str]:
    """Root-relative paths of every file the given modules run, sorted (code deps of a DVC stage)."""
    files = _closure(modules, root)[0]
    _disk().save()
    return sorted(p.relative_to(root).as_posix() for p in files)


def _distribution_listing() -> str:
    """sha256 of the names of the installed distributions' metadata folders on ``sys.path``
    (``*.dist-info``, ``*.egg-info``): a name holds its version, so an install, upgrade or removal
    changes it."""
    digest = hashlib.sha256()
    for entry in sys.path:
        try:
            names = sorted(n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:  # a zip file, a path hook, a missing folder
            continue
        digest.update(json.dumps([entry, names]).encode())
    return digest.hexdigest()


def installed_versions(names: Sequence[str]) -> dict[str, str]:
    """Version (``importlib.metadata``'s) of each distribution of ``names`` that is installed, in
    that order. Reading the metadata of 30 distributions costs ~0.1 s, so the answer is kept in the
    disk cache while the installed distributions (:func:`_distribution_listing`) are the same."""
    listing = (_distribution_listing(),)
    key = f"versions\0{','.join(names)}\0{sys.prefix}"
    cached = _disk().get(key, listing)
    if isinstance(cached, dict):
        return {str(k): str(v) for k, v in cached.items()}
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    _disk().put(key, listing, found, settled=True)
    _disk().save()
    return found


@functools.lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str], ...]:
    """(distribution, version) of the installed :data:`NUMERIC_LIBRARIES`."""
    return tuple(installed_versions(NUMERIC_LIBRARIES).items())


def cell_modules(*components: object) -> tuple[str, ...]:
    """The modules a cell's code starts from: those defining its components' classes, and the runner."""
    modules = {klass.__module__ for obj in components for klass in type(obj).__mro__ if is_ours(klass.__module__)}
    return tuple(sorted(modules | set(RUNNER_MODULES)))


_FINGERPRINTS: dict[tuple[tuple[str, ...], Path], tuple[dict[Path, Stamp], str]] = {}


def _unchanged(stamps: dict[Path, Stamp]) -> bool:
    try:
        return all(_stamp(path) == stamp for path, stamp in stamps.items())
    except OSError:  # a file was removed
        return False


def code_fingerprint(modules: Iterable[str], root: Path = REPO_ROOT) -> str:
    """sha256 (hex) of the code the modules run: their closure's files, and the numeric libraries' versions.

    Cached per process: a repeated call only checks the stamps of the closure's source files (and
    across processes, per file, in the disk cache: see the module's docstring).
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
    _disk().save()
    return fingerprint


if __name__ == "__main__":  # `python -m modellab.run.codehash MODULE...`: what the fingerprint covers
    targets = sys.argv[1:] or list(RUNNER_MODULES)
    print("\n".join(source_closure(targets)))
    print("\n".join(f"{name}=={version}" for name, version in library_versions()))
    print(f"fingerprint {code_fingerprint(targets)}")
