"""``python -m modellab report``: the measured tables of README.md and docs/ come from the lab (issue 23).

- The committed README/docs hold every defined block, each generated from the current deps
  (``report --check``; fails in CI when code or config changed after a table was generated).
- On tiny stores built here, the tables hold the values worked out by hand: the pooled WER of a
  constant-text model, the latest complete run of a setup, the stored bootstrap interval, "–" for a
  missing metric.
- ``--check`` names a stale, missing or unknown block.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modellab.analysis.report import check_blocks, load_blocks, render_block, write_blocks
from modellab.analysis.report.__main__ import main as report_main
from modellab.analysis.report.fingerprint import fingerprint
from modellab.analysis.report.markers import block_text, recorded_fingerprint
from modellab.results.store import ResultsStore
from tests.conftest import REPO, run_cli

TODAY = "2026-01-02"


def _config(tmp: Path, query: str, columns: str, deps: str = "[dep.txt]", latest_by: str = "[model, dataset]") -> Path:
    path = tmp / "blocks.yaml"
    path.write_text(
        "blocks:\n"
        "  - name: t\n"
        "    file: README.md\n"
        f'    query: "{query}"\n'
        f"    latest_by: {latest_by}\n"
        f"    columns: {columns}\n"
        f"    deps: {deps}\n",
        encoding="utf-8",
    )
    return path


def _docs(tmp: Path) -> Path:
    """A repository-like folder: README with an empty block t, docs/, and one dep file."""
    root = tmp / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text("intro\n\n<!-- report:t -->\nold table\n<!-- /report:t -->\n\nafter\n")
    (root / "dep.txt").write_text("v1\n")
    shutil.copytree(REPO / "modellab" / "analysis" / "report", root / "modellab" / "analysis" / "report")
    return root


# --- the committed docs -----------------------------------------------------------------------------


def test_committed_tables_are_generated_from_the_current_deps() -> None:
    """Fails when a dep (code, config, the block definition) changed after its table was generated:
    rerun the default sweep and `python -m modellab report`, then commit the tables."""
    problems = check_blocks(load_blocks())
    assert problems == [], "\n".join(map(str, problems))


def test_report_check_cli_exits_zero_on_the_committed_docs() -> None:
    out = run_cli("modellab", "report", "--check")
    assert out.returncode == 0, out.stderr
    assert "blocks up to date" in out.stdout


def test_every_defined_block_names_existing_deps() -> None:
    for block in load_blocks():
        assert len(fingerprint(block, REPO)) == 12


# --- tables from a tiny store -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dummy_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dummy_asr saying 'ten of clubs' on the five cards clips, scored with the `basic` normaliser."""
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    results = tmp_path_factory.mktemp("results")
    overrides = [
        "+model=dummy_asr",
        "task=asr",
        "dataset=cards_golden_v1",
        "model.options.text='ten of clubs'",
        "task.options.primary_normalizer=basic",
        f"results_dir={results}",
        "progress=false",
    ]
    run_config(compose_config(overrides))
    return results


def test_wer_in_the_table_is_pooled_over_samples(dummy_store: Path, tmp_path: Path) -> None:
    """Hypothesis 'ten of clubs' against the cards references:
    'ten of clubs' 0/3, 'four queen of clubs' 2/4, 'seven of clubs' 1/3, 'five five' 3/2 (2 S + 1 I),
    'eight of spades four of clubs seven of hearts' 7/9 (6 D + 1 S): pooled 13/21 = 61.9 %
    (the mean of per-sample rates would be 62.2 %). Audio: 1.095 + 1.96 + 1.538 + 1.554 + 3.502 s = 0.16 min."""
    config = _config(
        tmp_path,
        "SELECT run_id, started_at, status, model, dataset, n_samples, audio_s / 60 AS minutes, 100 * wer AS wer "
        "FROM report_runs WHERE task = 'asr'",
        '[{header: model, value: "{model}"}, {header: "n", value: "{n_samples}"}, '
        '{header: min, value: "{minutes:.2f}"}, {header: WER %, value: "{wer:.1f}"}]',
    )
    root = _docs(tmp_path)
    block = load_blocks(config)[0]
    text = render_block(block, dummy_store, deps_root=root, today=TODAY)
    assert text.splitlines()[:3] == [
        "| model | n | min | WER % |",
        "|---|---|---|---|",
        "| dummy_asr | 5 | 0.16 | 61.9 |",
    ]


def _run(store: ResultsStore, run_id: str, started: str, status: str, model: str, metrics: dict) -> None:
    row = {
        "run_id": run_id,
        "started_at": started,
        "status": status,
        "model": model,
        "task": "asr",
        "dataset": "d1",
        "preprocessing": "none",
        "n_samples": 4,
        "hardware": '{"cpu": "Test CPU", "cores": "8"}',
    }
    rows = [
        {"run_id": run_id, "name": n, "value": v, "higher_is_better": False, "ci_low": lo, "ci_high": hi}
        for n, (v, lo, hi) in metrics.items()
    ]
    store.write_run(row, [], rows)


@pytest.fixture
def hand_store(tmp_path: Path) -> Path:
    """Model a: an older ok run (WER 0.5), a newer ok run (0.25 [0.1, 0.4]) and a newest failed one;
    model b: one ok run whose WER has no interval and no CER."""
    store = ResultsStore(tmp_path / "results")
    _run(store, "r1", "2026-01-01T10:00:00", "ok", "a", {"wer": (0.5, 0.3, 0.7), "cer": (0.2, None, None)})
    _run(store, "r2", "2026-01-01T11:00:00", "ok", "a", {"wer": (0.25, 0.1, 0.4), "cer": (0.125, None, None)})
    _run(store, "r3", "2026-01-01T12:00:00", "failed", "a", {"wer": (0.9, None, None)})
    _run(store, "r4", "2026-01-01T09:00:00", "ok", "b", {"wer": (0.0625, None, None)})
    return store.root


HAND_QUERY = (
    "SELECT run_id, started_at, status, model, dataset, hardware, 100 * wer AS wer, 100 * wer_ci_low AS lo, "
    "100 * wer_ci_high AS hi, 100 * cer AS cer FROM report_runs ORDER BY model"
)
HAND_COLUMNS = (
    '[{header: model, value: "{model}"}, {header: "WER % [95% CI]", value: "{wer:.1f} [{lo:.1f}, {hi:.1f}]"}, '
    '{header: CER %, value: "{cer:.2f}"}]'
)


def test_latest_complete_run_per_setup_with_its_interval(hand_store: Path, tmp_path: Path) -> None:
    root = _docs(tmp_path)
    block = load_blocks(_config(tmp_path, HAND_QUERY, HAND_COLUMNS))[0]
    lines = render_block(block, hand_store, deps_root=root, today=TODAY).splitlines()
    assert lines[:4] == [
        "| model | WER % [95% CI] | CER % |",
        "|---|---|---|",
        "| a | 25.0 [10.0, 40.0] | 12.50 |",  # r2: r1 is older, r3 failed
        "| b | 6.2 [–, –] | – |",  # 6.25 rounds half to even; no interval, no CER stored
    ]
    stamp = lines[5]
    assert stamp.startswith(f"_Generated by `python -m modellab report` on {TODAY} (git ")
    assert "from 2 runs of the results store (measured on Test CPU, 8 cores)" in stamp
    assert stamp.endswith(f"; deps {fingerprint(block, root)}._")
    assert lines[6] == "<!-- runs: r2 r4 -->"


def test_write_then_check_then_a_changed_dep_is_stale(hand_store: Path, tmp_path: Path) -> None:
    root = _docs(tmp_path)
    blocks = load_blocks(_config(tmp_path, HAND_QUERY, HAND_COLUMNS))
    assert [str(p) for p in check_blocks(blocks, root, root)] == [
        "README.md: block 't' was never generated (no 'deps <hex>' stamp)"
    ]
    assert write_blocks(blocks, hand_store, root, root) == ["README.md"]
    text = (root / "README.md").read_text()
    assert text.startswith("intro\n\n<!-- report:t -->\n| model |") and text.endswith("<!-- /report:t -->\n\nafter\n")
    assert "old table" not in text
    assert check_blocks(blocks, root, root) == []
    recorded = recorded_fingerprint(block_text(text, "t") or "")
    (root / "dep.txt").write_text("v2\n")
    problems = [str(p) for p in check_blocks(blocks, root, root)]
    assert problems == [
        f"README.md: block 't' is stale: generated from deps {recorded}, its deps hash to "
        f"{fingerprint(blocks[0], root)} now"
    ]


def test_check_names_missing_and_unknown_blocks(tmp_path: Path) -> None:
    root = _docs(tmp_path)
    (root / "README.md").write_text("no markers here\n")
    (root / "docs" / "x.md").write_text("<!-- report:orphan -->\n|a|\n<!-- /report:orphan -->\n")
    blocks = load_blocks(_config(tmp_path, HAND_QUERY, HAND_COLUMNS))
    assert [str(p) for p in check_blocks(blocks, root, root)] == [
        "README.md: block 't' is missing: no <!-- report:t --> markers",
        "docs/x.md: block 'orphan' has no definition in conf/report/",
    ]


def test_cli_exit_codes(hand_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _docs(tmp_path)
    config = _config(tmp_path, HAND_QUERY, HAND_COLUMNS)
    check = ["--check", "--root", str(root), "--config", str(config)]
    # the definition's dep dep.txt is looked up under the repository, where it does not exist: usage error
    assert report_main(check) == 2
    assert "dep 'dep.txt' matches nothing" in capsys.readouterr().err
    config = _config(tmp_path, HAND_QUERY, HAND_COLUMNS, deps="[conf/config.yaml]")
    check = ["--check", "--root", str(root), "--config", str(config)]
    assert report_main(check) == 1
    assert "block 't' was never generated" in capsys.readouterr().err
    assert report_main(["--root", str(root), "--config", str(config), "--results-dir", str(tmp_path / "none")]) == 3
    assert "no runs in" in capsys.readouterr().err
    assert report_main(["--root", str(root), "--config", str(config), "--results-dir", str(hand_store)]) == 0
    assert report_main(check) == 0


def test_a_bad_definition_names_the_file_and_the_problem(tmp_path: Path) -> None:
    from modellab.config import ConfigError

    config = tmp_path / "blocks.yaml"
    config.write_text(
        "blocks:\n  - name: t\n    file: README.md\n    columns: [{header: a, value: x}]\n    deps: [x]\n"
    )
    with pytest.raises(ConfigError, match=r"blocks.yaml: blocks\[0\]: a store block needs a 'query'"):
        load_blocks(config)


def test_json_block_reads_recorded_files_and_fixed_rows(tmp_path: Path) -> None:
    root = _docs(tmp_path)
    (root / "bench.json").write_text(
        '{"ratio": {"value": 0.94128}, "audio_s": 330.0, "_finished_at": "2026-11-25T11:05"}'
    )
    config = tmp_path / "blocks.yaml"
    config.write_text(
        "blocks:\n  - name: t\n    file: README.md\n    kind: json\n    deps: [dep.txt]\n"
        "    rows:\n"
        '      - {source: bench.json, goal: "overhead ({audio_s:.0f} s)", measured: "{ratio[value]:.3f}"}\n'
        '      - {goal: "resume", measured: "tested"}\n'
        '    columns: [{header: Goal, value: "{goal}"}, {header: Measured, value: "{measured}"}]\n'
    )
    block = load_blocks(config)[0]
    lines = render_block(block, tmp_path / "no-results", deps_root=root, today=TODAY).splitlines()
    assert lines[:4] == ["| Goal | Measured |", "|---|---|", "| overhead (330 s) | 0.941 |", "| resume | tested |"]
    assert "from recorded bench.json (2026-11-25); deps " in lines[5]
    before = fingerprint(block, root)
    (root / "unrelated.txt").write_text("x")  # a fixed row adds no dep: the fingerprint stays
    assert fingerprint(block, root) == before
    (root / "bench.json").write_text('{"ratio": {"value": 0.95}, "audio_s": 330.0}')  # a recorded file is a dep
    assert fingerprint(block, root) != before


def test_a_marker_quoted_in_prose_is_not_a_block(tmp_path: Path) -> None:
    root = _docs(tmp_path)
    (root / "docs" / "x.md").write_text("Tables sit between `<!-- report:NAME -->` and `<!-- /report:NAME -->`.\n")
    blocks = load_blocks(_config(tmp_path, HAND_QUERY, HAND_COLUMNS))
    assert [p.block for p in check_blocks(blocks, root, root)] == ["t"]  # never generated; no block 'NAME'
