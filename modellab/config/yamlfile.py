"""A ``conf/`` file that is not valid YAML: one :class:`ConfigError` naming the file, line and column.

PyYAML's own error is several lines (``mapping values are not allowed here`` / ``in "<path>", line 2,
column 15``) and arrives as a traceback; the lab's commands report :class:`InvalidYAMLError` instead::

    conf/dataset/x_v1.yaml: not valid YAML: mapping values are not allowed here (line 2, column 15)

Hydra reads conf/ itself: :func:`report_invalid_yaml` (called by the commands that compose configs) makes it
raise this error too. It is not called by :mod:`modellab.config.registry`, which is part of some cells' code
(:mod:`modellab.run.codehash`): the hook changes no number, so it must not change their cell keys.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from modellab.config import REPO_ROOT
from modellab.config.schema import ConfigError

__all__ = [
    "EXIT_USAGE",
    "InvalidYAMLError",
    "load_yaml",
    "report_invalid_yaml",
    "run_reporting_config_errors",
    "yaml_problem",
]


class InvalidYAMLError(ConfigError):
    """A config file PyYAML cannot parse; the message names the file, the problem, line and column."""


def _shown(path: str | Path) -> str:
    """``path`` relative to the repository when it lies inside it, else as given."""
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def yaml_problem(exc: yaml.YAMLError, path: str | Path | None = None) -> str:
    """One line: ``<file>: not valid YAML: <problem> (line L, column C)``, line and column counted from 1.

    ``path`` defaults to the file PyYAML read (the name in its error)."""
    mark = getattr(exc, "problem_mark", None)
    where = path if path is not None else getattr(mark or exc, "name", None) or "<unknown file>"
    problem = getattr(exc, "problem", None) if mark is not None else None
    text = " ".join(str(problem or exc).split())
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{_shown(where)}: not valid YAML: {text}{at}"


def load_yaml(path: str | Path) -> Any:
    """``OmegaConf.load(path)``; a file that is not valid YAML raises :class:`InvalidYAMLError`."""
    try:
        return OmegaConf.load(path)
    except yaml.YAMLError as exc:
        raise InvalidYAMLError(yaml_problem(exc, path)) from exc


def report_invalid_yaml() -> None:
    """Make Hydra raise :class:`InvalidYAMLError` for a config file that is not valid YAML, instead of
    letting PyYAML's error through. The error is also a Hydra composition error, which ``hydra.main``
    prints as its message alone (no traceback). Idempotent.

    The hook wraps Hydra's ``ConfigRepository.load_config`` (every config source reads through it), not
    ``FileConfigSource``: Hydra's plugin scan re-imports its core plugin modules, replacing their classes."""
    from hydra._internal.config_repository import ConfigRepository
    from hydra.errors import ConfigCompositionException
    from hydra.plugins.config_source import ConfigResult

    load = ConfigRepository.load_config
    if getattr(load, "modellab_invalid_yaml", False):
        return

    class ComposedInvalidYAMLError(InvalidYAMLError, ConfigCompositionException):
        """:class:`InvalidYAMLError` raised from inside Hydra's composition."""

    def load_config(self: ConfigRepository, config_path: str) -> ConfigResult | None:
        try:
            return load(self, config_path)
        except yaml.YAMLError as exc:
            raise ComposedInvalidYAMLError(yaml_problem(exc)) from exc

    load_config.modellab_invalid_yaml = True  # type: ignore[attr-defined]
    ConfigRepository.load_config = load_config  # type: ignore[method-assign]


EXIT_USAGE = 2  # a config error, as python -m modellab (docs/exit-codes.md)


def run_reporting_config_errors(prog: str, run: Callable[[list[str] | None], int], argv: list[str] | None) -> int:
    """``run(argv)`` for a command-line entry point: a config that cannot be loaded (not valid YAML, not the
    schema) is one line, ``PROG: message``, and exit code 2."""
    report_invalid_yaml()
    try:
        return run(argv)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
