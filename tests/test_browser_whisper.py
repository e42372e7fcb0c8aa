"""The browser runtime: tiny.en exported to ONNX, run by transformers.js in headless Chromium through
our page (modellab/browser/web), measured by the normal runner; plus the pieces around it (the page
server, the errors that name what is missing)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from modellab.browser.export import ExportError, default_source_dir, export_browser_model
from modellab.browser.page import PageServer, RssSampler

# librivox_golden_v1's first two clips (data/built/librivox_golden_v1/manifest.jsonl), 22 + 8 = 30 words:
#   0870 "and mister john dashwood had then leisure to consider how much there might be prudently in his power ..."
#   0880 "he was not an ill disposed young man"
# faster_whisper tiny.en (beam 5) gets 2 of the 30 wrong ("old-sposed" for "ill disposed"): WER 2/30 = 0.067.
FASTER_WHISPER_WER_2_CLIPS = 2 / 30
ONE_WORD = 1 / 30


@pytest.mark.slow
@pytest.mark.browser
def test_browser_whisper_transcribes_golden_clips_in_chromium(run_cell, results_dir: Path) -> None:
    if not (default_source_dir() / "model.safetensors").exists():  # the transformers copy the export reads
        from modellab.tools.convert import main as convert

        assert convert(["faster_whisper"]) == 0
    model_dir = export_browser_model()  # cached: a no-op once exported
    summary = run_cell(
        "+model=browser_whisper",
        "task=asr",
        "dataset=librivox_golden_v1",
        "+dataset.limit=2",
        f"model.weights.path={model_dir}",
    )
    assert summary.status == "ok" and summary.n_failed == 0
    texts = [r.output["text"].lower() for r in summary.records]
    assert "dashwood" in texts[0] and "prudently" in texts[0]
    assert "he was not an" in texts[1] and "young man" in texts[1]
    # The same weights as faster_whisper; transformers.js decodes greedily: at most one word apart.
    assert summary.metrics["wer"] <= FASTER_WHISPER_WER_2_CLIPS + ONE_WORD + 1e-9
    # What the page measured: part of the runner's timed call (which adds the WebDriver round trip).
    m = summary.metrics
    assert 0 < m["page_compute_s"] < m["compute_s"]
    assert m["page_rtfx"] > m["rtfx"] > 0
    assert 0 < m["page_load_s"] < m["load_s"]
    assert m["page_js_heap_peak_mb"] > 0 and m["browser_rss_peak_mb"] > m["page_js_heap_peak_mb"]
    runs = list((results_dir / "runs").glob("*.parquet"))
    assert len(runs) == 1
    import duckdb

    family = duckdb.execute(f"SELECT model_family FROM read_parquet('{runs[0]}')").fetchone()
    assert family == ("transformers.js",)


def test_page_server_routes_the_page_and_the_model_folder(tmp_path: Path) -> None:
    web, models = tmp_path / "web", tmp_path / "models"
    (models / "m").mkdir(parents=True)
    web.mkdir()
    (web / "runner.mjs").write_text("export const x = 1;")
    (models / "m" / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    server = PageServer(models, web_dir=web)
    try:
        with urllib.request.urlopen(server.url + "runner.mjs") as page:
            assert page.headers["Content-Type"] == "text/javascript"  # module scripts need a JS type
            assert page.read() == b"export const x = 1;"
        with urllib.request.urlopen(server.url + "models/m/config.json") as config:
            assert json.loads(config.read()) == {"model_type": "whisper"}
            assert "Cross-Origin-Embedder-Policy" not in config.headers  # not isolated, like GitHub Pages
    finally:
        server.close()


def test_export_without_the_transformers_folder_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(
        ExportError, match=r"missing config.json, model.safetensors.*modellab.tools.convert faster_whisper"
    ):
        export_browser_model(tmp_path / "out", source=tmp_path / "nowhere-yet")


def test_missing_export_names_the_export_command(tmp_path: Path) -> None:
    from modellab.config.registry import load_component
    from modellab.models.weights import WeightsNotFoundError

    model = load_component("model", "browser_whisper")
    model.weights.path = str(tmp_path / "no-export")
    with pytest.raises(WeightsNotFoundError, match=r"python -m modellab.browser export --out .*no-export"):
        model.load()


def test_page_metrics_cover_the_timed_calls_only() -> None:
    from modellab.config.registry import load_component
    from modellab.models.browser_whisper import _PageStats

    class _Page:  # the page's answer to memoryMb() and chromium's RSS, as the real page gives them
        def __init__(self) -> None:
            self.rss = [300.0, 420.0, 380.0]

        def call(self, name: str) -> dict[str, float]:
            assert name == "memoryMb"
            return {"js_heap_peak_mb": 90.0}

        def process_rss_mb(self) -> float:
            return self.rss.pop(0) if self.rss else 0.0

    model = load_component("model", "browser_whisper")
    model.page = _Page()
    model.rss = RssSampler(model.page, every_s=3600)  # samples at start (300) and at each take (420, then 380)
    # a 10 s warm-up call (20 s in the page), then two timed calls: 3 s of audio in 1.0 s, 5 s in 1.5 s
    model.stats = _PageStats(load_s=4.0, calls=[(10.0, 20000.0), (3.0, 1000.0), (5.0, 1500.0)])
    metrics = {name: (value, higher) for name, value, higher in model.take_run_metrics(2)}
    assert metrics == {
        "page_compute_s": (2.5, False),
        "page_rtfx": (8.0 / 2.5, True),
        "page_load_s": (4.0, False),
        "page_js_heap_peak_mb": (90.0, False),
        "browser_rss_peak_mb": (420.0, False),
    }
    assert model.take_run_metrics(0) == []  # taken: the next cell (model already loaded) starts afresh
    model.rss.close()


def test_rss_sampler_keeps_the_peak_since_the_last_take() -> None:
    class _Page:
        def __init__(self, values: list[float | None]) -> None:
            self.values = values

        def process_rss_mb(self) -> float:
            value = self.values.pop(0)
            if value is None:
                raise ProcessLookupError("the browser is gone")
            return value

    page = _Page([100.0, 250.0, 120.0, None])
    sampler = RssSampler(page, every_s=3600)  # no timed samples: one at start, one per take
    assert sampler.take_peak_mb() == 250.0  # max(100, 250)
    assert sampler.take_peak_mb() == 120.0  # the earlier peak was taken
    assert sampler.take_peak_mb() == 0.0  # a failed sample keeps what it had (nothing since the take)
    sampler.close()
    assert not sampler._thread.is_alive()


def test_missing_npm_packages_name_the_install_command(tmp_path: Path) -> None:
    from modellab.browser.page import PageError, check_web_install

    with pytest.raises(PageError, match=r"transformers.min.js is missing: .*npm ci --prefix " + str(tmp_path)):
        check_web_install(tmp_path)
