"""``python -m modellab report``: the measured tables of README.md and docs/ come from the lab (issue 23).

- The committed README/docs hold every defined block, each generated from the current deps
  (``report --check``; fails in CI when code or config changed after a table was generated).
- On tiny stores built here, the tables hold the values worked out by hand: the pooled WER of a
  constant-text model, the latest complete run of a setup, the stored bootstrap interval, "–" for a
  missing metric.
- ``--check`` names a stale, missing or unknown block.
"""

from __future__ import annotations

import dataclasses
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


# --- paired blocks, the docs sweep's blocks, blocks kept when their runs are missing ---------------------


def _scored_run(store: ResultsStore, run_id: str, model: str, scores: list[float], started: str) -> None:
    """A run of ``model`` on d1 whose metric ``score`` (higher is better) is the mean of its samples'
    ``score``; sample s<i> lasts 20 × (i + 1) s."""
    row = {
        "run_id": run_id,
        "started_at": started,
        "status": "ok",
        "model": model,
        "task": "asr",
        "dataset": "d1",
        "preprocessing": "none",
        "n_samples": len(scores),
        "hardware": '{"cpu": "Test CPU", "cores": "8"}',
    }
    samples = [
        {"run_id": run_id, "sample_id": f"s{i}", "score": v, "duration_s": 20.0 * (i + 1)} for i, v in enumerate(scores)
    ]
    metric = {"run_id": run_id, "name": "score", "value": sum(scores) / len(scores), "higher_is_better": True}
    store.write_run(row, samples, [metric])


@pytest.fixture
def paired_store(tmp_path: Path) -> Path:
    """Model a scores 2, 3, 4 on s0-s2 and model b 2.5, 3.5, 4.5 (each sample +0.5); model c scores 1, 2 on
    s0-s1 and model d 1, 3 (differences 0 and 1)."""
    store = ResultsStore(tmp_path / "paired")
    _scored_run(store, "ra", "a", [2.0, 3.0, 4.0], "2026-01-01T10:00:00")
    _scored_run(store, "rb", "b", [2.5, 3.5, 4.5], "2026-01-01T10:01:00")
    _scored_run(store, "rc", "c", [1.0, 2.0], "2026-01-01T10:02:00")
    _scored_run(store, "rd", "d", [1.0, 3.0], "2026-01-01T10:03:00")
    return store.root


PAIRED_BLOCK = """\
blocks:
  - name: t
    file: README.md
    kind: paired
    source: "`python -m modellab lab --config conf/lab/docs.yaml`"
    pairs:
      - {label: "b − a", baseline: a, candidate: b, dataset: d1, metric: score, scale: 10}
      - {label: "d − c", baseline: c, candidate: d, dataset: d1, metric: score}
    columns:
      - {header: pair, value: "{label}"}
      - {header: "n", value: "{n}"}
      - {header: min, value: "{minutes:.1f}"}
      - {header: score, value: "{baseline:.2f} → {candidate:.2f}"}
      - {header: "Δ [95% CI]", value: "{delta:+.2f} [{low:+.2f}, {high:+.2f}]"}
    deps: [dep.txt]
"""


def test_paired_block_prints_the_paired_bootstrap_of_each_pair(paired_store: Path, tmp_path: Path) -> None:
    """b − a: every sample gains 0.5, so every resample's difference is 0.5: Δ = +5.00 [+5.00, +5.00] at
    scale 10 (means 30 → 35); 3 samples of 20 + 40 + 60 s = 2.0 min. d − c: per-sample differences 0 and 1;
    a resample of 2 draws both 0s (p = 1/4, Δ 0), both 1s (1/4, Δ 1) or one of each (1/2, Δ 0.5), so the
    2.5 % and 97.5 % percentiles are 0 and 1: Δ = +0.50 [+0.00, +1.00]; 20 + 40 s = 1.0 min."""
    root = _docs(tmp_path)
    config = tmp_path / "blocks.yaml"
    config.write_text(PAIRED_BLOCK)
    block = load_blocks(config)[0]
    lines = render_block(block, paired_store, deps_root=root, today=TODAY).splitlines()
    assert lines[:4] == [
        "| pair | n | min | score | Δ [95% CI] |",
        "|---|---|---|---|---|",
        "| b − a | 3 | 2.0 | 30.00 → 35.00 | +5.00 [+5.00, +5.00] |",
        "| d − c | 2 | 1.0 | 1.50 → 2.00 | +0.50 [+0.00, +1.00] |",
    ]
    assert "from 4 runs of the results store made by `python -m modellab lab --config conf/lab/docs.yaml`" in lines[5]
    assert lines[6] == "<!-- runs: ra rb rc rd -->"


def test_a_block_whose_runs_are_missing_is_kept_and_names_its_command(
    paired_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two blocks: `t` pairs models the store has, `gone` needs model z: `report` writes t, keeps `gone`
    byte for byte, says which command makes its runs, and exits 0."""
    root = _docs(tmp_path)
    kept = "<!-- report:gone -->\n| committed | table |\n\n_Generated ... deps 0123456789ab._\n<!-- /report:gone -->\n"
    (root / "docs" / "x.md").write_text("before\n" + kept + "after\n")
    gone = (
        "  - name: gone\n    file: docs/x.md\n    kind: paired\n    source: python -m modellab lab --only z\n"
        "    pairs: [{label: z, baseline: a, candidate: z, dataset: d1, metric: score}]\n"
        '    columns: [{header: x, value: "{delta}"}]\n    deps: [conf/config.yaml]\n'
    )
    config = tmp_path / "blocks.yaml"
    config.write_text(PAIRED_BLOCK.replace("deps: [dep.txt]", "deps: [conf/config.yaml]") + gone)
    args = ["--root", str(root), "--config", str(config), "--results-dir", str(paired_store)]
    assert report_main(args) == 0
    out = capsys.readouterr()
    assert "1 blocks written to README.md; 1 kept" in out.out
    assert "kept the committed 'gone' (docs/x.md)" in out.err
    assert "fill it with: python -m modellab lab --only z" in out.err
    assert (root / "docs" / "x.md").read_text() == "before\n" + kept + "after\n"
    assert "| b − a | 3 | 2.0 |" in (root / "README.md").read_text()
    # --check still applies the deps rule to the kept block: its recorded deps are not the current ones
    problems = [str(p) for p in check_blocks(load_blocks(config), root, REPO)]
    assert problems == [
        f"docs/x.md: block 'gone' is stale: generated from deps 0123456789ab, its deps hash to "
        f"{fingerprint(load_blocks(config)[1], REPO)} now"
    ]


def test_a_store_block_on_a_metric_no_run_has_is_kept(hand_store: Path, tmp_path: Path) -> None:
    """The docs sweep's metrics (e.g. bleu) are no column of a store without its runs: kept, not an error."""
    root = _docs(tmp_path)
    config = _config(tmp_path, "SELECT run_id, model, bleu FROM report_runs", '[{header: m, value: "{model}"}]')
    seen: list[str] = []
    assert write_blocks(load_blocks(config), hand_store, root, root, on_missing=lambda b, e: seen.append(str(e))) == []
    assert "old table" in (root / "README.md").read_text()
    assert len(seen) == 1 and "names a column no run in" in seen[0] and "bleu" in seen[0]


def test_the_paired_block_example_of_docs_results_md_renders(paired_store: Path, tmp_path: Path) -> None:
    """The ```yaml example under "Paired differences" in docs/results.md, run on the paired store:
    d − c as worked out above, +0.50 [+0.00, +1.00] on 2 samples."""
    text = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    example = text.split("<!-- example: paired block -->\n```yaml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "example.yaml"
    config.write_text(
        example.replace("faster_whisper_base", "d")
        .replace("faster_whisper", "c")
        .replace("asterisk_en_s40_v2", "d1")
        .replace("metric: wer", "metric: score")
    )
    root = _docs(tmp_path)
    block = load_blocks(config)[0]
    block = dataclasses.replace(block, deps=["dep.txt"])
    lines = render_block(block, paired_store, deps_root=root, today=TODAY).splitlines()
    assert lines[2].startswith("| base − tiny.en | d1 | 2 | 1.00 |") and lines[2].endswith("| +50.0 [+0.0, +100.0] |")


def test_the_docs_sweep_covers_every_docs_block_dataset() -> None:
    """Each dataset a docs-sweep block reads is run by conf/lab/docs.yaml (or the default sweep)."""
    from modellab.run.lab import sweeps

    swept = " ".join(
        " ".join(o) for cfg in ("docs", "default") for o in sweeps(str(REPO / "conf/lab" / f"{cfg}.yaml")).values()
    )
    for block in load_blocks(REPO / "conf" / "report" / "docs.yaml"):
        if block.source and "conf/lab/full.yaml" in block.source:
            continue  # made by the opt-in full-set command, not the docs sweep
        named = [p.dataset for p in block.pairs] or [
            d.split("/")[-1].removesuffix(".yaml") for d in block.deps if d.startswith("conf/dataset/")
        ]
        assert named and all(d in swept for d in named), (block.name, named)
