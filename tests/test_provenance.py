"""Provenance looks at the whole checkout: a run is ``git_dirty`` when conf/ or data/sources/ differ,
not only modellab/ (the package moved one folder deeper once and the root went with it)."""

from __future__ import annotations

from pathlib import Path

from modellab.run import provenance


def test_git_state_defaults_to_the_repository_root() -> None:
    root = provenance.git_state.__wrapped__.__defaults__[0]
    assert root == Path(__file__).resolve().parents[1]
    assert (root / "pyproject.toml").is_file() and (root / "conf" / "config.yaml").is_file()
