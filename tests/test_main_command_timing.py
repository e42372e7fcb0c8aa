"""scripts/lab.sh records the main command's pipeline time (modellab.pipeline.timing), which the README's
main_command_time block renders: the figure is recorded by the command itself, never typed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modellab.pipeline.timing import main_command_record, write_main_command_record
from tests.conftest import REPO


def test_record_rounds_the_seconds_and_names_command_commit_and_machine() -> None:
    record = main_command_record(329.4)
    assert record["seconds"] == 329  # 329.4 s rounds down; the README shows whole seconds
    assert main_command_record(330.6)["seconds"] == 331
    assert record["command"] == "bash scripts/lab.sh"
    assert record["step"] == "dvc repro (setup excluded)"
    assert re.fullmatch(r"[0-9a-f]{7}(\+dirty)?", record["git_sha"])
    assert re.fullmatch(r".+, \d+ cores", record["machine"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["_finished_at"])


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        main_command_record(-1)


def test_written_file_is_the_record_as_json(tmp_path: Path) -> None:
    out = write_main_command_record(12.0, tmp_path / "lab" / "main_command.json")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["seconds"] == 12 and data["command"] == "bash scripts/lab.sh"


def test_lab_script_records_its_time_after_dvc_repro() -> None:
    script = (REPO / "scripts" / "lab.sh").read_text(encoding="utf-8")
    repro = script.index(".venv/bin/dvc repro")
    timed = script.index('modellab.pipeline.timing "$seconds"')
    assert repro < timed


def test_the_published_record_is_what_the_readme_block_reads() -> None:
    published = json.loads((REPO / "benchmarks" / "results" / "main_command.json").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[
        readme.index("<!-- report:main_command_time -->") : readme.index("<!-- /report:main_command_time -->")
    ]
    assert f"| {published['seconds']} |" in block
    assert published["seconds"] <= 360  # the README's budget for the main command on the 2-core VM
