"""The DVC pipeline: dvc.yaml follows conf/, and `dvc repro` works offline from a fresh clone.

The end-to-end tests clone the repository (its committed state, HEAD) into a temp folder and run
DVC there with a reduced lab config (the dummy ASR model on two small embedded datasets, one of
them spoken from the committed sentence file), so the whole pipeline -- dataset builds, sweep,
site -- runs in well under a minute. No network, no DVC remote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modellab.config.registry import load_component
from modellab.pipeline.closure import source_closure
from modellab.pipeline.stages import expand_sweep, lab_sweeps, pipeline, render

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DVC = BIN / "dvc"
TINY_LAB = {"sweeps": {"asr": ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1,synth_golden_v1"]}}

needs_dvc = pytest.mark.skipif(
    not DVC.exists() or shutil.which("git") is None or not (REPO / ".git").exists(),
    reason="needs dvc in the venv and a git checkout",
)


# --- dvc.yaml generated from conf/ (fast) ------------------------------------------------------


@pytest.fixture(scope="module")
def default_spec() -> dict:
    return pipeline()


def test_dvc_yaml_is_current_with_conf(default_spec: dict) -> None:
    committed = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert committed == render(default_spec), "dvc.yaml is out of date: run `python -m modellab.pipeline write`"


@pytest.mark.slow
def test_pipeline_stages_follow_the_configs(default_spec: dict) -> None:
    every = pipeline(datasets="all")["stages"]
    for name in ("librivox_golden_v1", "synth_golden_v1", "asr_smoke_v1"):
        ds = load_component("dataset", name)
        stage = every[f"build_{name}"]
        assert stage["outs"] == [f"data/built/{name}"]
        assert stage["params"] == [{f"conf/dataset/{name}.yaml": None}]
        assert f"modellab/datasets/builders/{ds.builder['_target_'].split('.')[-2]}.py" in stage["deps"]
    # the sentence file feeds exactly the datasets spoken from it
    assert "data/sources/sentences_v1.txt" in every["build_synth_golden_v1"]["deps"]
    assert "data/sources/sentences_v1.txt" not in every["build_librivox_golden_v1"]["deps"]
    assert "librispeech_test_clean" not in str(every)  # a real corpus (data.dvc), never built by the pipeline
    # the datasets' stages, and the browser model's (the site links the Try-it page's model files from it)
    outs = {stage["outs"][0] for name, stage in every.items() if name.startswith("build_") or name == "browser_model"}
    assert "data/built/browser_model" in every["site"]["deps"] and "data/built/browser_model" in outs
    for stage in every.values():  # a dataset made from other datasets depends on their stages' outputs
        assert {d for d in stage["deps"] if d.startswith("data/built/")} <= outs

    stages = default_spec["stages"]  # the default: the datasets the sweeps read, and what they are made from
    built = {stage["outs"][0] for name, stage in stages.items() if name.startswith("build_")}
    read = {d for name, s in stages.items() if not name.startswith(("build_", "site")) for d in s["deps"]}
    assert {d for d in read if d.startswith("data/built/")} <= built
    for sweep, overrides in lab_sweeps().items():
        stage = stages[f"sweep_{sweep}"]
        assert stage["cmd"] == f"python -m modellab.pipeline sweep {sweep}"
        assert {"conf/lab/default.yaml": [f"sweeps.{sweep}"]} in stage["params"]
        assert stage["metrics"] == [{f"results/lab/{sweep}.json": {"cache": True}}]
        datasets = [o.split("=", 1)[1].split(",") for o in overrides if o.startswith("dataset=")]
        for name in datasets[0] if datasets else []:
            assert f"data/built/{name}" in stage["deps"]
            assert {f"conf/dataset/{name}.yaml": None} in stage["params"]
    site = stages["site"]
    assert "data/corpora" in site["deps"] and site["outs"] == [{"site": {"cache": False, "persist": True}}]
    assert all(f"results/lab/{s}.json" in site["deps"] for s in lab_sweeps())


def test_expand_sweep_is_the_cartesian_product() -> None:
    assert expand_sweep(["+model=a,b", "task=asr", "dataset=x,y"]) == [
        ["+model=a", "task=asr", "dataset=x"],
        ["+model=a", "task=asr", "dataset=y"],
        ["+model=b", "task=asr", "dataset=x"],
        ["+model=b", "task=asr", "dataset=y"],
    ]


BAD_YAML_PROBLEM = "not valid YAML: mapping values are not allowed here"


def _write_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lab: str
) -> tuple[int, str, Path]:
    """``pipeline write`` with a lab config of text ``lab``, over a copy of conf/ whose dataset
    ``aa_bad_v1`` is not valid YAML: (exit code, stderr, the copy of conf/)."""
    import modellab.config
    import modellab.pipeline.stages
    from modellab.pipeline.__main__ import main

    conf = tmp_path.resolve() / "conf"
    shutil.copytree(REPO / "conf", conf)
    (conf / "dataset" / "aa_bad_v1.yaml").write_text("name: x\ndescription: a: b\n", encoding="utf-8")
    monkeypatch.setattr(modellab.config, "CONF_DIR", conf)
    monkeypatch.setattr(modellab.pipeline.stages, "CONF_DIR", conf)
    (tmp_path / "lab.yaml").write_text(lab, encoding="utf-8")
    output = tmp_path / "dvc.yaml"
    code = main(["write", "--lab", str(tmp_path / "lab.yaml"), "--output", str(output)])
    assert not output.exists()
    return code, capsys.readouterr().err.strip(), conf


def test_pipeline_write_names_a_conf_file_that_is_not_valid_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = 'sweeps:\n  bad: ["+model=dummy_asr", "task=asr", "dataset=aa_bad_v1"]\n'
    code, err, conf = _write_bad(tmp_path, monkeypatch, capsys, lab)
    assert code == 2
    assert err == f"modellab.pipeline: {conf}/dataset/aa_bad_v1.yaml: {BAD_YAML_PROBLEM} (line 2, column 15)"


def test_pipeline_write_names_a_lab_config_that_is_not_valid_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err, _ = _write_bad(tmp_path, monkeypatch, capsys, "sweeps:\n  asr: x: y\n")
    assert code == 2
    assert err == f"modellab.pipeline: {tmp_path.resolve()}/lab.yaml: {BAD_YAML_PROBLEM} (line 2, column 9)"


def test_source_closure_follows_lazy_imports_and_package_data() -> None:
    files = source_closure(["modellab.datasets.builders.synthetic"])
    assert "modellab/audio/synth.py" in files and "modellab/datasets/builders/__init__.py" in files
    assert "modellab/run/runner.py" not in files
    site = source_closure(["modellab.site.build"])
    assert "modellab/site/templates" in site  # templates are code of the site stage


# --- dvc repro in a fresh clone (slow) ---------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELLAB_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HF_HUB_OFFLINE="1", PYANNOTE_METRICS_ENABLED="false")
    return env


def run(cwd: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    if check and proc.returncode:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def dvc(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(cwd, str(DVC), *args, check=check)


def git_commit(cwd: Path, message: str) -> None:
    run(cwd, "git", "add", "-A")
    run(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)


def summary(clone: Path) -> dict:
    return json.loads((clone / "results" / "lab" / "asr.json").read_text())["cells"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone with a reduced lab config, reproduced once (the first test checks that run)."""
    path = tmp_path_factory.mktemp("dvc") / "clone"
    run(REPO, "git", "clone", "-q", str(REPO), str(path))
    (path / "data" / "corpora").mkdir(parents=True, exist_ok=True)  # what scripts/setup.sh does
    (path / "conf" / "lab" / "default.yaml").write_text(yaml.safe_dump(TINY_LAB))
    run(path, sys.executable, "-m", "modellab.pipeline", "write", "--datasets", "used")
    git_commit(path, "reduced lab")
    (path.parent / "first_repro.log").write_text(dvc(path, "repro").stdout)
    return path


@pytest.mark.slow
@needs_dvc
def test_fresh_clone_repro_runs_everything_offline_to_a_site(clone: Path) -> None:
    log = (clone.parent / "first_repro.log").read_text()
    for stage in ("build_cards_golden_v1", "build_synth_golden_v1", "sweep_asr", "site"):
        assert f"Running stage '{stage}'" in log
    assert (clone / "site" / "index.html").is_file()
    cells = summary(clone)
    assert set(cells) == {"dummy_asr/cards_golden_v1", "dummy_asr/synth_golden_v1"}
    assert {c["status"] for c in cells.values()} == {"ok"}
    assert all((clone / "results" / "runs" / f"{c['run_id']}.parquet").is_file() for c in cells.values())
    assert "up to date" in dvc(clone, "status").stdout
    # nothing but the lock file changes in git: outputs are ignored, no stray .gitignore appears
    changed = run(clone, "git", "status", "--porcelain").stdout.split("\n")
    assert [line for line in changed if line.strip() and not line.endswith("dvc.lock")] == []


@pytest.mark.slow
@needs_dvc
def test_second_repro_does_nothing_and_says_so(clone: Path) -> None:
    out = dvc(clone, "repro").stdout
    assert "Running stage" not in out
    assert "Data and pipelines are up to date." in out


@pytest.mark.slow
@needs_dvc
def test_changed_sentence_file_reruns_only_what_depends_on_it(clone: Path) -> None:
    git_commit(clone, "first repro")
    before = summary(clone)
    first_clip = clone / "data" / "built" / "synth_golden_v1" / "audio" / "espeak-en-us-s00-clean.wav"
    clip_before = first_clip.read_bytes()
    sentences = clone / "data" / "sources" / "sentences_v1.txt"
    lines = sentences.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    lines[first] = "Seven silver swans swam silently seaward."
    sentences.write_text("\n".join(lines) + "\n")
    status = dvc(clone, "status").stdout
    assert "build_synth_golden_v1" in status and "build_cards_golden_v1" not in status
    out = dvc(clone, "repro").stdout
    for stage in ("build_synth_golden_v1", "sweep_asr", "site"):
        assert f"Running stage '{stage}'" in out
    assert "Stage 'build_cards_golden_v1' didn't change, skipping" in out
    after = summary(clone)
    # inside the sweep only the cell whose data changed ran again; the other reused its run
    assert after["dummy_asr/cards_golden_v1"]["run_id"] == before["dummy_asr/cards_golden_v1"]["run_id"]
    assert after["dummy_asr/synth_golden_v1"]["run_id"] != before["dummy_asr/synth_golden_v1"]["run_id"]
    assert first_clip.read_bytes() != clip_before  # spoken again from the new sentence
    assert "up to date" in dvc(clone, "status").stdout


@pytest.mark.slow
@needs_dvc
def test_exp_run_with_a_param_override_lands_in_results(clone: Path) -> None:
    git_commit(clone, "before experiment")
    runs_before = len(list((clone / "results" / "runs").glob("*.parquet")))
    out = dvc(clone, "exp", "run", "-S", "conf/model/dummy_asr.yaml:options.text=ten of clubs").stdout
    assert "Running stage 'sweep_asr'" in out and "Stage 'build_cards_golden_v1' didn't change" in out
    cards = summary(clone)["dummy_asr/cards_golden_v1"]
    # refs: "ten of clubs" (0 errors), "four queen of clubs" (2), "seven of clubs" (1), "five five" (2 sub + 1 ins),
    # "eight of spades four of clubs seven of hearts" (1 sub + 6 del): 13 errors / 21 words, unnormalised
    assert cards["wer_none"] == pytest.approx(13 / 21, abs=1e-6)
    # whisper_en writes "five five" as "55" (one word): 1 sub + 2 ins there, 13 errors / 20 words
    assert cards["wer"] == pytest.approx(13 / 20, abs=1e-6)
    assert len(list((clone / "results" / "runs").glob("*.parquet"))) == runs_before + 2
    assert "ten of clubs" in (clone / "conf" / "model" / "dummy_asr.yaml").read_text()  # applied to the workspace
    assert len(dvc(clone, "exp", "list", "--name-only").stdout.split()) == 1


@pytest.mark.slow
@needs_dvc
def test_data_dvc_push_and_pull_with_a_local_remote(tmp_path: Path) -> None:
    team_a = tmp_path / "a"
    run(REPO, "git", "clone", "-q", str(REPO), str(team_a))
    corpus = team_a / "data" / "corpora" / "LibriSpeech" / "test-clean" / "84" / "121123"
    corpus.mkdir(parents=True)
    import numpy as np
    import soundfile

    soundfile.write(str(corpus / "84-121123-0000.flac"), np.zeros(8000, dtype=np.float32) + 0.1, 16000)
    (corpus / "84-121123.trans.txt").write_text("84-121123-0000 GO DO YOU HEAR\n")
    dvc(team_a, "add", "data/corpora")
    tracked = yaml.safe_load((team_a / "data.dvc").read_text())["outs"][0]
    assert tracked["path"] == "data/corpora" and tracked["nfiles"] == 2
    dvc(team_a, "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    dvc(team_a, "push", "data.dvc")
    git_commit(team_a, "add a corpus")

    team_b = tmp_path / "b"
    run(REPO, "git", "clone", "-q", str(team_a), str(team_b))
    assert not (team_b / "data" / "corpora").exists()
    dvc(team_b, "pull", "data.dvc")
    pulled = team_b / "data" / "corpora" / "LibriSpeech" / "test-clean" / "84" / "121123"
    assert (pulled / "84-121123-0000.flac").read_bytes() == (corpus / "84-121123-0000.flac").read_bytes()
    assert "up to date" in dvc(team_b, "status", "data.dvc").stdout
    # the registry sees the pulled corpus, with the same content hash on both sides
    rows = {}
    for team in (team_a, team_b):
        listing = run(team, sys.executable, "-m", "modellab.datasets", "list", "--format", "json").stdout
        rows[team.name] = next(r for r in json.loads(listing) if r["dataset"] == "librispeech_test_clean")
    assert rows["a"]["available"] == rows["b"]["available"] == "yes"
    assert rows["a"]["hash"] == rows["b"]["hash"] and rows["a"]["samples"] == 1
