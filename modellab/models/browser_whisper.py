"""Whisper in the browser: transformers.js (onnxruntime-web, WASM) in headless Chromium.

``load()`` serves our runner page (modellab/browser/web/) and the ONNX export (``python -m
modellab.browser export``) from a local HTTP server, opens it in Debian's chromium through
Selenium and loads the model there; ``predict()`` hands the 16 kHz audio to the page and gets the
text back. What the page measures itself (performance.now() around the model call, the load,
the JS heap) comes back through :meth:`BrowserWhisperModel.take_run_metrics` as ``page_*`` metrics.
Memory is read outside the timed call: the page keeps its JS heap peak itself (asked once per run) and
a thread samples Chromium's RSS (:class:`~modellab.browser.page.RssSampler`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from modellab.audio import resample
from modellab.browser.page import BrowserPage, PageServer, RssSampler, check_web_install
from modellab.models.base import ASRModel
from modellab.models.weights import WeightsNotFoundError
from modellab.types import Audio, Transcript

__all__ = ["BrowserWhisperModel", "BrowserWhisperOptions"]

_RATE = 16000
_ONNX = {"fp32": "", "q8": "_quantized"}  # transformers.js dtype -> ONNX file suffix


@dataclass
class BrowserWhisperOptions:
    dtype: str  # fp32 | q8 (the int8 *_quantized.onnx files)
    max_new_tokens: int
    threads: int  # WASM threads; >1 serves the page cross-origin isolated (GitHub Pages cannot)
    timeout_s: float  # longest a page call (load or transcribe) may take


@dataclass
class _PageStats:
    """What the page reported since the last ``take_run_metrics``: in-page call ms with their audio seconds."""

    load_s: float | None = None
    calls: list[tuple[float, float]] = field(default_factory=list)  # (audio_s, page_ms)


class BrowserWhisperModel(ASRModel):
    """Greedy Whisper decoding by transformers.js inside a page of ours (no beam search there)."""

    Options = BrowserWhisperOptions

    def load(self) -> None:
        model_dir = self._model_dir()
        check_web_install()
        o = self.options
        self.server = PageServer(model_dir.parent, isolate=o.threads > 1)
        self.page = BrowserPage(self.server.url, Path(tempfile.mkdtemp(prefix="modellab-chromium-")), o.timeout_s)
        config = {"localModelPath": "./models/", "modelId": model_dir.name, "dtype": o.dtype, "threads": o.threads}
        info = self.page.call("loadModel", config)
        self.page_info = info
        self.stats = _PageStats(load_s=float(info["load_ms"]) / 1000.0)
        self.rss = RssSampler(self.page)

    def _model_dir(self) -> Path:
        import os

        path = Path(os.path.expandvars(self.weights.path or "")).expanduser()
        suffix = _ONNX.get(self.options.dtype)
        if suffix is None:
            raise ValueError(
                f"conf/model/{self.name}.yaml options.dtype: {self.options.dtype!r} is not one of {list(_ONNX)}"
            )
        needed = [
            path / "config.json",
            *(path / "onnx" / f"{s}{suffix}.onnx" for s in ("encoder_model", "decoder_model_merged")),
        ]
        missing = [str(p) for p in needed if not p.exists()]
        if missing:
            raise WeightsNotFoundError(
                f"model '{self.name}': the transformers.js export is missing ({', '.join(missing)}). "
                f"Make it with: .venv/bin/python -m modellab.browser export --out {path}"
            )
        return path

    def predict(self, inputs: Audio) -> Transcript:
        samples = inputs.samples if inputs.sample_rate == _RATE else resample(inputs.samples, inputs.sample_rate, _RATE)
        out = self.page.transcribe(samples, maxNewTokens=self.options.max_new_tokens)
        self.stats.calls.append((len(samples) / _RATE, float(out["ms"])))
        return Transcript(text=str(out["text"]).strip(), language="en")

    def take_run_metrics(self, n_calls: int) -> list[tuple[str, float, bool]]:
        """In-page measurements over the last ``n_calls`` calls (earlier ones, the warm-up, dropped):
        ``page_compute_s``/``page_rtfx`` (the model call alone, performance.now()), ``page_load_s``
        (model files fetched + ONNX sessions created; once, in the run that loaded), the JS heap's
        peak (performance.memory, not WebAssembly memory) and chromium's process-tree RSS peak."""
        stats, calls = self.stats, self.stats.calls[-n_calls:] if n_calls > 0 else []
        audio_s = sum(a for a, _ in calls)
        page_s = sum(ms for _, ms in calls) / 1000.0
        metrics = [("page_compute_s", page_s, False)] if calls else []
        if calls and page_s > 0:
            metrics.append(("page_rtfx", audio_s / page_s, True))
        if stats.load_s is not None:
            metrics.append(("page_load_s", stats.load_s, False))
        rss = self.rss.take_peak_mb()  # taken every run, so the next run's peak starts afresh
        if calls:
            heap = self.page.call("memoryMb").get("js_heap_peak_mb")  # the page's own peak (noted after each call)
            if heap is not None:
                metrics.append(("page_js_heap_peak_mb", float(heap), False))
            if rss:
                metrics.append(("browser_rss_peak_mb", rss, False))
        self.stats = _PageStats()
        return metrics

    def unload(self) -> None:
        for closer in (getattr(self, "rss", None), getattr(self, "page", None), getattr(self, "server", None)):
            if closer is not None:
                closer.close()
        super().unload()
