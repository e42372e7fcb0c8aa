"""A compare page in headless Chromium, reached from its leaderboard's "vs best" link: both runs'
hypotheses side by side with word diffs, the paired WER change with its interval, audio that the
browser can decode (Opus), and no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_site_browser import browser, rows, severe  # noqa: F401 - the module's Chromium fixture
from tests.test_site_build import demo_results, demo_site  # noqa: F401 - session fixtures, built once

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOARD = "lb-asr-cards_golden_v1"
# The best run says "ten of clubs" to every card, the other the dummy's default sentence; the diffs
# show the texts after the whisper_en normaliser ("ten" -> "10").
BEST_WORD, OTHER_WORDS = "clubs", "young man"


def test_a_board_row_opens_its_compare_page_with_both_hypotheses(browser, demo_site: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(demo_site.joinpath("index.html").resolve().as_uri())
    board_rows = rows(driver, f"{BOARD}-table")
    assert len(board_rows) == 2
    links = [link for row in board_rows for link in row.find_elements(By.CSS_SELECTOR, "a.compare-link")]
    assert len(links) == 1  # the best row has nothing to compare against
    worse_row = next(row for row in board_rows if row.find_elements(By.CSS_SELECTOR, "a.compare-link"))
    candidate = worse_row.get_attribute("data-run")
    links[0].click()

    assert "/compare/" in driver.current_url and driver.current_url.endswith(f"--{candidate}.html")
    assert severe(driver) == []
    assert driver.find_element(By.CSS_SELECTOR, ".cmp-delta").text.startswith("+")  # B is worse than the best
    assert "paired bootstrap interval" in driver.find_element(By.CSS_SELECTOR, ".cmp-interval").text
    assert "n=5" in driver.find_element(By.ID, "headline").text
    utterances = driver.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert len(utterances) == 5
    first = utterances[0].find_elements(By.TAG_NAME, "td")
    a, b = (" ".join(ins.text for ins in cell.find_elements(By.TAG_NAME, "ins")) for cell in first[3:5])
    assert (
        first[2].text and BEST_WORD in a and OTHER_WORDS not in a
    )  # words each hypothesis has and the reference lacks
    assert OTHER_WORDS.split()[0] in b and BEST_WORD not in b
    audio = utterances[0].find_element(By.TAG_NAME, "audio")
    assert audio.get_attribute("src").endswith(".opus")
    decoded = driver.execute_async_script(
        "const a = arguments[0], done = arguments[1];"
        "a.addEventListener('loadedmetadata', () => done(a.duration));"
        "a.addEventListener('error', () => done(-1));"
        "a.preload = 'auto'; a.load();",
        audio,
    )
    assert decoded > 0  # Chromium decodes the stored Opus file
    driver.find_element(By.CSS_SELECTOR, "dl.cmp-runs a").click()  # the baseline's run page
    assert "/runs/" in driver.current_url and severe(driver) == []
