"""Which source files a stage runs: the modellab modules it imports, followed transitively.

Imports are read from the source (``ast``), including imports inside functions (adapters import
lazily in ``load()``), so a stage's code dependencies are exactly the files it can execute, plus
the data files (templates, static assets) of the packages it uses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from modellab.config import REPO_ROOT

__all__ = ["PACKAGE", "is_ours", "module_file", "source_closure"]

PACKAGE = "modellab"
# Hydra plugins (``hydra_plugins.*``) live here; ``python -m modellab`` puts it on sys.path.
PLUGIN_ROOT = REPO_ROOT / PACKAGE / "plugins"


def _root(module: str) -> Path | None:
    top = module.split(".")[0]
    if top == PACKAGE:
        return REPO_ROOT
    if top and (PLUGIN_ROOT / top).is_dir():
        return PLUGIN_ROOT
    return None


def is_ours(module: str) -> bool:
    """A module of this repository (the package or one of its Hydra plugins)."""
    return _root(module) is not None


def module_file(module: str) -> Path | None:
    """The file defining ``module`` (a package's ``__init__.py``), or None if it is not ours."""
    root = _root(module)
    if root is None:
        return None
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imported(module: str, path: Path) -> set[str]:
    """Names of the modellab modules (and candidate submodules) that ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
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
    return {n for n in names if is_ours(n)}


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


def source_closure(modules: Iterable[str]) -> list[str]:
    """Repo-relative paths of every file the given modules run, sorted."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = [m for module in modules for m in _with_parents(module)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module)
        if path is None:
            continue
        files.add(path)
        if path.name == "__init__.py":
            files.update(_package_data(path))
        for name in _imported(module, path):
            todo.extend(m for m in _with_parents(name) if m not in seen)
    return sorted(p.relative_to(REPO_ROOT).as_posix() for p in files)
