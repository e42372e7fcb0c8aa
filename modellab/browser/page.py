"""Our runner page (web/) served over local HTTP and driven in headless Chromium by Selenium.

:class:`PageServer` serves ``web/`` at ``/`` (the page, runner.js, node_modules) and a model
folder's parent at ``/models/``; :class:`BrowserPage` starts Debian's chromium through
chromium-driver with the site test's flags (tests/test_site_browser.py), opens the page and calls
runner.js' functions with ``execute_async_script``.
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "headless_chromium",
    "WEB_DIR",
    "BrowserPage",
    "PageError",
    "PageServer",
    "RssSampler",
    "check_web_install",
]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WEB_DIR = Path(__file__).with_name("web")
TRANSFORMERS_JS = "node_modules/@huggingface/transformers/dist/transformers.min.js"
ORT_WASM = "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm"
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}


class PageError(RuntimeError):
    """The page cannot run: a missing browser or npm install, or an error thrown in the page."""


def check_web_install(web_dir: Path = WEB_DIR) -> None:
    """Chromium, chromium-driver and the npm packages are where the page needs them."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise PageError(f"{path} is missing: install chromium and chromium-driver (scripts/setup.sh, apt-get)")
    for rel in (TRANSFORMERS_JS, ORT_WASM):
        if not (web_dir / rel).exists():
            raise PageError(
                f"{web_dir / rel} is missing: install the page's npm packages with: npm ci --prefix {web_dir}"
            )


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TYPES}

    def __init__(self, *args: Any, routes: dict[str, Path], isolate: bool, **kwargs: Any) -> None:
        self.routes, self.isolate = routes, isolate
        super().__init__(*args, directory=str(routes["/"]), **kwargs)

    def translate_path(self, path: str) -> str:
        for prefix, root in self.routes.items():
            if prefix != "/" and path.startswith(prefix):
                self.directory = str(root)
                return super().translate_path("/" + path[len(prefix) :])
        self.directory = str(self.routes["/"])
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        if self.isolate:  # cross-origin isolation: SharedArrayBuffer, so WASM threads (GitHub Pages cannot)
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class PageServer:
    """A threaded HTTP server on 127.0.0.1 (a free port): ``web_dir`` at ``/``, ``models_dir`` at ``/models/``."""

    def __init__(self, models_dir: Path, web_dir: Path = WEB_DIR, isolate: bool = False) -> None:
        routes = {"/models/": Path(models_dir), "/": Path(web_dir)}
        handler = functools.partial(_Handler, routes=routes, isolate=isolate)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_CALL = """
const [name, args, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const fail = (e) => done({error: String((e && e.stack) || e)});
const call = () => {
  if (!window.modellab) return setTimeout(call, 20);
  let a = args;
  if (name === "transcribe") a = [window.modellab.float32FromBase64(args[0]), args[1]];
  Promise.resolve(window.modellab[name](...a)).then((value) => done({value}), fail);
};
call();
"""


def headless_chromium(
    profile_dir: Path, *, window: tuple[int, int] = (1280, 900), extra_flags: tuple[str, ...] = ()
) -> Any:
    """Debian's Chromium, headless, driven by chromium-driver through Selenium, as every browser check of the
    lab runs it: offline (no background networking, component updates or driver downloads), a fresh
    profile in ``profile_dir``, the page's console kept (``driver.get_log("browser")``)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"{path} is missing: scripts/setup.sh installs chromium and chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--window-size={window[0]},{window[1]}",
        f"--user-data-dir={profile_dir}",
        *extra_flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


class BrowserPage:
    """Headless Chromium on our page; ``call(name, *args)`` awaits runner.js' ``name(*args)``."""

    def __init__(self, url: str, profile_dir: Path, timeout_s: float = 600.0) -> None:
        self.profile_dir = profile_dir
        self.driver = headless_chromium(profile_dir, extra_flags=("--enable-precise-memory-info",))  # unrounded heap
        self.driver.set_script_timeout(timeout_s)
        self.driver.get(url)

    def call(self, name: str, *args: Any) -> Any:
        result = self.driver.execute_async_script(_CALL, name, list(args))
        if not isinstance(result, dict) or "error" in result:
            error = result.get("error") if isinstance(result, dict) else result
            raise PageError(f"runner.js {name}() failed in the page: {error}")
        return result.get("value")

    def transcribe(self, audio: np.ndarray, **options: Any) -> dict[str, Any]:
        b64 = base64.b64encode(np.ascontiguousarray(audio, dtype="<f4").tobytes()).decode("ascii")
        return self.call("transcribe", b64, options)

    def process_rss_mb(self) -> float:
        """RSS of chromium-driver's process tree (the browser and its renderer, GPU and utility processes)."""
        import psutil

        service = self.driver.service  # chromium-driver, whose children are the browser's processes
        pid = service.process.pid if service.process else None
        if pid is None:
            return 0.0
        root = psutil.Process(pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile_dir, ignore_errors=True)


class RssSampler:
    """Peak RSS of a page's browser, sampled by a daemon thread every ``every_s`` seconds, so the
    model's timed calls do not pay for the polling; :meth:`take_peak_mb` returns the peak since the
    last take and starts a new one."""

    def __init__(self, page: BrowserPage, every_s: float = 0.2) -> None:
        self.page, self.every_s = page, every_s
        self._peak_mb = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="modellab-browser-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            rss = self.page.process_rss_mb()
        except Exception:  # the browser is closing: keep the peak so far
            return
        with self._lock:
            self._peak_mb = max(self._peak_mb, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def take_peak_mb(self) -> float:
        self._sample()
        with self._lock:
            peak, self._peak_mb = self._peak_mb, 0.0
        return peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
