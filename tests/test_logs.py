"""modellab.logs: the argparse commands' INFO messages reach standard error, message only."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from modellab.logs import setup_cli_logging


@pytest.fixture
def bare_logging() -> Iterator[Callable[[], None]]:
    """Call it in the test (pytest adds its capture handlers for the call phase): logging as a plain
    command finds it, nothing configured. Everything is put back afterwards."""
    root, package = logging.getLogger(), logging.getLogger("modellab")
    saved = (root.handlers[:], root.level, package.level)

    def bare() -> None:
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
        package.setLevel(logging.NOTSET)

    yield bare
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    package.setLevel(saved[2])


def test_info_of_modellab_goes_to_the_stderr_of_the_moment(
    bare_logging: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    bare_logging()
    setup_cli_logging()
    setup_cli_logging()  # idempotent: one handler, each message once
    assert len(logging.getLogger().handlers) == 1
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("modellab.run.lab").info("[lab] sweep %s: %s", "asr", "+model=dummy_asr")
    monkeypatch.setattr(sys, "stderr", second)  # a later capture: the handler follows sys.stderr
    logging.getLogger("modellab.analysis.export").warning("note: %s", "no word times")
    logging.getLogger("some_library").info("chatter")  # other libraries stay at WARNING
    logging.getLogger("some_library").warning("library warning")
    assert first.getvalue() == "[lab] sweep asr: +model=dummy_asr\n"
    assert second.getvalue() == "note: no word times\nlibrary warning\n"


def test_configured_logging_is_left_alone(bare_logging: Callable[[], None]) -> None:
    bare_logging()
    mine = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(mine)
    setup_cli_logging()
    assert logging.getLogger().handlers == [mine]
    assert logging.getLogger("modellab").getEffectiveLevel() == logging.INFO


def test_a_command_prints_its_progress_on_stderr() -> None:
    code = (
        "import logging, sys; from modellab.logs import setup_cli_logging; setup_cli_logging(); "
        "logging.getLogger('modellab.x').info('progress'); print('result')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "result\n" and out.stderr == "progress\n"
