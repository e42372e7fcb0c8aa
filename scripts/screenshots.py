"""PNG screenshots of the site for the README: the landing page, one leaderboard, one compare page.

    .venv/bin/python scripts/screenshots.py [--results-dir results] [--site DIR] [--out docs/img]

Builds the site from a copy of ``--results-dir`` into a temporary folder (or uses ``--site``, an
already built one), opens it in headless Chromium (Debian's chromium + chromium-driver through
Selenium, as ``tests/test_site_browser.py`` does) and writes ``landing.png``, ``board.png`` and
``compare.png`` to ``--out``. Each is one 1280 px wide view, at most :data:`MAX_BYTES` (a larger one
is retaken shorter).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1280, 900
MAX_BYTES = 200_000
REPO = Path(__file__).resolve().parents[1]


def _driver(profile: Path) -> Any:
    from modellab.browser.page import headless_chromium

    driver = headless_chromium(
        profile, window=(WIDTH, HEIGHT), extra_flags=("--hide-scrollbars", "--force-device-scale-factor=1")
    )
    driver.set_page_load_timeout(30)
    return driver


def _shoot(driver: Any, url: str, out: Path, anchor: str | None = None) -> Path:
    """Open ``url``, scroll ``anchor`` (a CSS selector) to the top, save the view; shorter if too big."""
    from selenium.webdriver.common.by import By

    height = HEIGHT
    while True:
        driver.set_window_size(WIDTH, height)
        driver.get(url)
        if anchor:
            element = driver.find_element(By.CSS_SELECTOR, anchor)
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
        driver.save_screenshot(str(out))
        if out.stat().st_size <= MAX_BYTES or height <= 300:
            return out
        height = int(height * 0.8)


def _board_with_compare(site: Path) -> tuple[str, str]:
    """(board section id, compare page) of the first board row with a "vs best" link."""
    import re

    html = (site / "index.html").read_text(encoding="utf-8")
    for section in re.finditer(r'<section class="board" id="([^"]+)".*?</section>', html, re.S):
        link = re.search(r'class="compare-link" href="([^"]+)"', section.group(0))
        if link:
            return section.group(1), link.group(1)
    raise SystemExit(f"{site}/index.html: no leaderboard row links a compare page (a board needs 2+ comparable runs)")


def _build(results: Path, work: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from modellab.site import build_site

    copy = work / "results"
    shutil.copytree(results, copy)
    return build_site(copy, work / "site", quiet=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", default=str(REPO / "results"), help="results store (copied first)")
    parser.add_argument("--site", help="an already built site to use instead of building one")
    parser.add_argument("--out", default=str(REPO / "docs" / "img"), help="folder for the PNGs (default docs/img)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="modellab-shots-") as tmp:
        work = Path(tmp)
        site = Path(args.site) if args.site else _build(Path(args.results_dir), work)
        board, compare = _board_with_compare(site)
        driver = _driver(work / "profile")
        try:
            shots = [
                _shoot(driver, (site / "index.html").resolve().as_uri(), out / "landing.png"),
                _shoot(driver, (site / "index.html").resolve().as_uri(), out / "board.png", f"#{board}"),
                _shoot(driver, (site / compare).resolve().as_uri(), out / "compare.png"),
            ]
        finally:
            driver.quit()
    for shot in shots:
        print(f"{shot}: {shot.stat().st_size // 1000} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
