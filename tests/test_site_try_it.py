"""The "Try it" page (try.html) without a browser: the size it states, what it says without model
files or without runs of the in-browser runtime, and the DVC stage that builds its model files.
The page in headless Chromium: tests/test_site_browser_demo.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from modellab.app import run_config
from modellab.config.registry import compose_config
from modellab.pipeline.stages import PipelineError, lab_flag, pipeline
from modellab.results.views import connect
from modellab.site.build import optional_page_writer
from modellab.site.pages.try_it import load_settings, write_try_page

REPO = Path(__file__).resolve().parents[1]
LIBRIVOX_0880 = "he was not an ill disposed young man"  # data/built/librivox_golden_v1/manifest.jsonl


def _fake_export(root: Path) -> Path:
    """A stand-in export: every file the page fetches, of known sizes (the browser test uses the real one)."""
    settings = load_settings()
    for index, name in enumerate(settings.model_files):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x" * (1000 * (index + 1)))  # 1000 + 2000 + ... + 7000 bytes
    return root


def _fake_vendor(root: Path) -> Path:
    for name in load_settings().vendor_files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"v" * 500_000)
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run stored under the in-browser runtime's name: the dummy model saying clip 0880 on the LibriVox set."""
    results = tmp_path_factory.mktemp("try-results") / "results"
    overrides = ["+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "model.name=browser_whisper"]
    text = f"model.options.text='{LIBRIVOX_0880}'"
    run_config(compose_config([*overrides, text, f"results_dir={results}", "progress=false"]))
    return results


def _page(site: Path, store: Path, **overrides: object) -> str:
    settings = load_settings(**overrides)
    write_try_page(optional_page_writer(site, []), connect(store), settings)
    return (site / "try.html").read_text(encoding="utf-8")


def test_the_page_states_the_download_before_it_starts(tmp_path: Path, store: Path) -> None:
    export, vendor = _fake_export(tmp_path / "export"), _fake_vendor(tmp_path / "vendor")
    html = _page(tmp_path / "site", store, export=str(export), vendor=str(vendor))
    # 28 000 bytes of model files (1000 + ... + 7000) and 4 x 500 000 of runtime: 2 028 000 bytes
    assert 'data-bytes="2028000"' in html
    assert "<strong>2.0 MB</strong>" in html and "(0.0 MB of model files, 2.0 MB of transformers.js" in html
    linked = sorted(p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site" / "try").rglob("*.*"))
    assert linked == sorted(
        ["try/model/" + n for n in load_settings().model_files]
        + ["try/vendor/runner.js", "try/vendor/transformers.min.js"]
        + ["try/vendor/ort-wasm-simd-threaded.asyncify.mjs", "try/vendor/ort-wasm-simd-threaded.asyncify.wasm"]
    )
    assert (tmp_path / "site" / "try/model/onnx/encoder_model_quantized.onnx").stat().st_ino == (
        export / "onnx/encoder_model_quantized.onnx"
    ).stat().st_ino  # hard-linked, not a second copy
    assert 'id="try-load"' in html and "try-missing" not in html
    assert re.search(r'<script type="module" src="static/try_it.js">', html)  # relative: works under a sub-path


def test_without_model_files_the_page_says_how_to_build_them(tmp_path: Path, store: Path) -> None:
    html = _page(tmp_path / "site", store, export=str(tmp_path / "nothing"))
    assert 'id="try-missing"' in html and 'id="try-load"' not in html
    assert "python -m modellab.browser export --out data/built/browser_model" in html
    assert f"{tmp_path}/nothing/onnx/encoder_model_quantized.onnx" in html
    assert not (tmp_path / "site" / "try").exists()  # no half model in the site
    assert '"ready": false' in html


def test_the_measured_runs_of_the_runtime_are_shown_with_links(tmp_path: Path, store: Path) -> None:
    html = _page(tmp_path / "site", store, export=str(tmp_path / "nothing"))
    run_id, wer = connect(store).execute("SELECT run_id, wer FROM runs").fetchone()
    assert f'<a href="runs/{run_id}.html">{run_id}</a>' in html
    assert f"<td>{100 * wer:.2f}%" in html  # the stored WER as the site writes percentages
    # n = 5 clips; 7.1 + 2.99 + 5.3 + 6.05 + 3.29 = 24.73 s of audio (manifest durations) = 0.41 minutes
    assert "<td>5</td><td>0.41</td>" in html
    assert "try-no-runs" not in html


def test_without_runs_of_the_runtime_the_page_says_so(tmp_path: Path, store: Path) -> None:
    html = _page(tmp_path / "site", store, export=str(tmp_path / "nothing"), model="no_such_runtime")
    assert 'id="try-no-runs"' in html and "no ASR run of <code>no_such_runtime</code>" in html
    assert 'id="try-runs"' not in html


def test_the_golden_clips_are_the_sites_stored_audio(tmp_path: Path, store: Path) -> None:
    html = _page(tmp_path / "site", store, export=str(tmp_path / "nothing"))
    assert "librivox-sense_and_sensibility_01_austen_64kb-0880 (3.0 s)" in html
    assert LIBRIVOX_0880 in html  # the reference rides along, shown beside the transcript
    stored = re.findall(r'"audio": "(audio/[0-9a-f]{32}\.\w+)"', html)
    # the five LibriVox clips the stored run transcribed; cards_golden_v1 (also in the settings) has no run here
    assert len(stored) == 5 and all((tmp_path / "site" / a).is_file() for a in stored)
    assert "cards-001" not in html


def test_the_browser_model_stage_comes_from_the_settings(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"sweeps": {"a": ["+model=dummy_asr"]}, "browser_model": True}))
    assert lab_flag("browser_model", str(lab)) is True
    lab.write_text(yaml.safe_dump({"sweeps": {"a": ["+model=dummy_asr"]}}))
    assert lab_flag("browser_model", str(lab)) is False
    lab.write_text(yaml.safe_dump({"sweeps": {"a": ["+model=dummy_asr"]}, "browser_model": "yes"}))
    with pytest.raises(PipelineError, match="'browser_model' must be true or false"):
        lab_flag("browser_model", str(lab))


@pytest.mark.slow
def test_the_pipeline_builds_the_export_before_the_site_when_asked(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    sweeps = {"asr": ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1"]}
    lab.write_text(yaml.safe_dump({"sweeps": sweeps, "browser_model": True}))
    stages = pipeline(str(lab))["stages"]
    stage = stages["browser_model"]
    assert stage["cmd"] == "python -m modellab.browser export --out data/built/browser_model"
    assert stage["outs"] == ["data/built/browser_model"]
    assert "modellab/browser/export.py" in stage["deps"]
    assert {"conf/site/try_it.yaml": ["export", "export_command"]} in stage["params"]
    assert "data/built/browser_model" in stages["site"]["deps"] and "conf/site" in stages["site"]["deps"]
