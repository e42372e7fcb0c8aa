"""Logging for the lab's argparse commands: progress and diagnostics on standard error.

Modules log through ``logger = logging.getLogger(__name__)``; ``print`` is kept for what *is* a
command's output (tables, JSON, result lines). Hydra configures logging itself for runs and sweeps
(``hydra/job_logging``, ``hydra/hydra_logging``: INFO and up on standard output and in the job's
log file). The plain commands (``python -m modellab COMMAND`` and each ``python -m modellab.X``)
call :func:`setup_cli_logging` first, so their INFO messages still reach the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["setup_cli_logging"]


class _StderrHandler(logging.StreamHandler):
    """Writes each record to ``sys.stderr`` as it is *then* (a test's capture may have swapped it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.setStream: the stream stays sys.stderr
        pass


def setup_cli_logging(level: int = logging.INFO) -> None:
    """``modellab.*`` loggers at ``level``; one message-only handler on standard error unless logging
    is configured already (Hydra, pytest). Other libraries keep the root level (WARNING). Idempotent."""
    logging.getLogger("modellab").setLevel(level)
    root = logging.getLogger()
    if not root.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
