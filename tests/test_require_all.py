"""``--require-all`` / ``MODELLAB_REQUIRE_ALL=1`` (tests/conftest.py): a test skipped because a
dependency is missing fails instead, so a broken install cannot pass CI as "skipped"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SKIPPING = """
import pytest

def test_needs_a_missing_module():
    pytest.importorskip("modellab_no_such_module")

@pytest.mark.skipif(True, reason="apt-get install something-missing")
def test_needs_a_missing_package():
    pass

def test_skips_for_an_allowed_reason():
    pytest.skip("this machine has a CUDA device")

def test_passes():
    pass
"""

MODULE_LEVEL = """
import pytest

pytest.importorskip("modellab_no_such_module")

def test_never_collected():
    pass
"""


def _pytest(tmp_path: Path, source: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    test = tmp_path / "test_sample.py"
    test.write_text(source)
    full_env = {k: v for k, v in os.environ.items() if k != "MODELLAB_REQUIRE_ALL"} | (env or {})
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "-rfEs"]
    cmd += ["--rootdir", str(tmp_path), "-c", os.devnull, str(test), *args]
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)


def test_without_the_option_missing_dependencies_are_skipped(tmp_path: Path) -> None:
    out = _pytest(tmp_path, SKIPPING)
    assert out.returncode == 0, out.stdout
    assert "1 passed, 3 skipped" in out.stdout


def test_with_the_option_they_fail_and_allowed_skips_stay_skips(tmp_path: Path) -> None:
    for args, env in ((("--require-all",), None), ((), {"MODELLAB_REQUIRE_ALL": "1"})):
        out = _pytest(tmp_path, SKIPPING, *args, env=env)
        assert out.returncode == 1, out.stdout
        # the importorskip fails in the test's call; the skipif mark in its setup (an error)
        assert "1 failed, 1 passed, 1 skipped, 1 error" in out.stdout
        assert "FAILED" in out.stdout and "modellab_no_such_module" in out.stdout
        assert "apt-get install something-missing" in out.stdout


def test_a_module_level_importorskip_becomes_a_collection_error(tmp_path: Path) -> None:
    assert _pytest(tmp_path, MODULE_LEVEL).returncode == 5  # nothing collected, nothing failed
    out = _pytest(tmp_path, MODULE_LEVEL, env={"MODELLAB_REQUIRE_ALL": "1"})
    assert out.returncode != 0 and "1 error" in out.stdout and "modellab_no_such_module" in out.stdout
