"""Every ``python -m modellab ...`` example in README.md and docs/*.md is checked (issue 23).

- A Hydra example (``python -m modellab [-m] OVERRIDES``) must compose and build its cells, as the CLI
  would before loading anything (a renamed config, key or option fails here).
- A command example (``python -m modellab COMMAND ...``) names a real command.
- The examples that read or rewrite stored results run for real on a small store (dummy ASR runs and a
  forced-alignment run, the mix that once broke the documented ``rescore --where`` example).

An example that cannot be checked here says why in ``NOT_CHECKED``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from modellab.__main__ import COMMANDS
from tests.conftest import REPO, run_cli

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(
    r"\b(RUN_ID|MODEL|NAME|FILE|OUT_DIR|OUT|DIR|COMMAND|BASELINE|CANDIDATE)\b|\.\.\.|…|<[a-z_]+>|\["
)
NOT_CHECKED = {
    # needs a cluster or a launcher's own machinery, not this test
    "hydra/launcher=slurm": "submits to SLURM",
    "hydra/launcher=ray_local": "starts a Ray instance (tests/test_launchers.py runs it)",
    "hydra/launcher=parallel": "spawns joblib workers (tests/test_launchers.py runs it)",
}


def _examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        in_block = False
        for line in text.replace("\\\n", " ").splitlines():  # join shell line continuations
            if line.startswith("```"):
                in_block = not in_block
            elif in_block and re.match(r"\s*(\.venv/bin/)?python -m modellab\b", line):
                found.append((doc.name, line.split(" #")[0].strip()))
        for match in re.finditer(r"`((?:\.venv/bin/)?python -m modellab\b[^`]*)`", text):
            found.append((doc.name, " ".join(match.group(1).split())))
    return list(dict.fromkeys(found))


EXAMPLES = _examples()
CHECKED = [(d, e) for d, e in EXAMPLES if not any(key in e for key in NOT_CHECKED)]


def _argv(example: str) -> list[str]:
    return shlex.split(example.split("python -m ", 1)[1])


def _concrete(example: str) -> bool:
    return not PLACEHOLDER.search(example.split("python -m ", 1)[1])


def _hydra_overrides(argv: list[str]) -> list[str] | None:
    """The overrides of a Hydra example (``modellab [-m] k=v ...``), or None for a command example."""
    if argv[0] != "modellab" or (len(argv) > 1 and argv[1] in (*COMMANDS, "help", "COMMAND")):
        return None
    return [a for a in argv[1:] if a not in ("-m", "--multirun")]


def _cells(overrides: list[str]) -> list[list[str]]:
    """A sweep's cells: comma lists expanded (Hydra's basic sweeper), one list of overrides per cell."""
    cells: list[list[str]] = [[]]
    for item in overrides:
        key, _, value = item.partition("=")
        values = value.split(",") if "," in value and not value.startswith(("[", "'", '"')) else [value]
        cells = [cell + [f"{key}={v}"] for cell in cells for v in values]
    return cells


def test_the_docs_have_examples_to_check() -> None:
    assert len(CHECKED) >= 30, CHECKED
    assert any("rescore --where" in e for _, e in CHECKED)
    # every exemption still names a documented example (a stale exemption hides nothing)
    assert all(any(key in e for _, e in EXAMPLES) for key in NOT_CHECKED)


@pytest.mark.parametrize(("doc", "example"), CHECKED, ids=[f"{d}:{e[:60]}" for d, e in CHECKED])
def test_example_names_real_things(doc: str, example: str, tmp_path: Path) -> None:
    argv = _argv(example)
    module = argv[0]
    if module.startswith("modellab.") and not module.startswith("modellab.tools"):
        # Old-style `python -m modellab.site` still works for packages; modules moved in the regroup do not.
        path = REPO / module.replace(".", "/")
        assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), f"{doc}: no module {module}"
        return
    if module.startswith("modellab.tools"):
        assert (REPO / (module.replace(".", "/") + ".py")).exists(), f"{doc}: no module {module}"
        return
    overrides = _hydra_overrides(argv)
    if overrides is None:
        assert len(argv) > 1 and argv[1] in (*COMMANDS, "help", "COMMAND"), f"{doc}: unknown command in {example}"
        return
    if not overrides or not _concrete(example):
        return  # the command's name in prose, or a template line such as `python -m modellab -m ...`
    from modellab.app import build_cell
    from modellab.config.registry import compose_config

    for cell in _cells(overrides):
        cell = [c.replace("path/to/talk.mp4", str(REPO / "tests")) for c in cell]
        if any(c.startswith("audio=") for c in cell):
            cell = [c if not c.startswith("audio=") else "audio=/dev/null" for c in cell]
        cfg = compose_config([*cell, f"results_dir={tmp_path}"])
        if cfg.get("audio"):
            continue  # ad-hoc audio: composing it is the check (the file is the user's)
        try:
            build_cell(cfg)
        except Exception as exc:  # noqa: BLE001 - the example's own error is the message
            if "MissingExtra" in type(exc).__name__ or "not available" in str(exc):
                continue  # the config is valid; this machine lacks the extra or the data
            raise AssertionError(f"{doc}: `{example}` does not build: {exc}") from exc


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dummy ASR runs on cards (two setups), faster-whisper ASR on cards and faster-whisper forced alignment."""
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    results = tmp_path_factory.mktemp("results")
    for overrides in (
        ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text='ten of clubs'"],
        ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1"],
        ["+model=faster_whisper", "task=asr", "dataset=cards_golden_v1"],
        ["+model=faster_whisper", "task=alignment"],
    ):
        run_config(compose_config([*overrides, f"results_dir={results}", "progress=false"]))
    return results


RUNNABLE = [
    "python -m modellab help",
    "python -m modellab models",
    "python -m modellab datasets",
    'python -m modellab query "SELECT model, dataset, wer, rtfx FROM runs ORDER BY wer"',
    "python -m modellab baselines list",
    "python -m modellab findings",
    "python -m modellab rescore --where \"model = 'faster_whisper' AND task = 'asr'\" task.options.primary_normalizer=basic",
    "python -m modellab report --check",  # the committed tables against their deps (tests/test_report.py too)
]


@pytest.mark.slow
@pytest.mark.parametrize("example", RUNNABLE)
def test_documented_commands_run_on_a_small_store(example: str, store: Path) -> None:
    assert any(" ".join(example.split()) == e for _, e in EXAMPLES), f"not documented any more: {example}"
    out = run_cli(*_argv(example), env={"MODELLAB_RESULTS_DIR": str(store)})
    assert out.returncode == 0, f"`{example}` exited {out.returncode}:\n{out.stderr[-2000:]}"
    assert "Traceback" not in out.stderr, out.stderr[-3000:]


@pytest.mark.slow
def test_the_old_rescore_example_fails_where_the_documented_one_works(store: Path) -> None:
    """The store holds an ASR and an alignment run of faster_whisper: selecting by model alone picks the
    alignment run too, which has no primary normaliser (the example the docs used to give)."""
    old = "python -m modellab rescore --where \"model = 'faster_whisper'\" task.options.primary_normalizer=basic"
    out = run_cli(*_argv(old), env={"MODELLAB_RESULTS_DIR": str(store)})
    assert out.returncode != 0 and "Traceback" not in out.stderr
