"""The built site in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
no console errors, leaderboard rows, a sort click that reorders them, filtering, a run permalink,
the workbench command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from modellab.browser.page import headless_chromium
from tests.test_site_build import demo_results, demo_site  # noqa: F401 - session fixtures, built once

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOARD = "lb-asr-cards_golden_v1-table"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def rows(driver, table_id: str) -> list[object]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")


def test_leaderboard_sorts_filters_and_opens_a_run(browser, demo_site: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(demo_site.joinpath("index.html").resolve().as_uri())
    assert severe(driver) == []
    assert "Speech model leaderboard" in driver.find_element(By.TAG_NAME, "h1").text
    board_rows = rows(driver, BOARD)
    assert len(board_rows) == 2

    headers = driver.find_elements(By.CSS_SELECTOR, f"#{BOARD} thead th")
    rtfx = next(h for h in headers if h.text.startswith("RTFx"))
    before = [r.get_attribute("data-run") for r in rows(driver, BOARD)]
    rtfx.find_element(By.CSS_SELECTOR, "button.sort").click()  # first click: fastest first
    first = [r.get_attribute("data-run") for r in rows(driver, BOARD)]
    values = [
        float(r.find_elements(By.TAG_NAME, "td")[headers.index(rtfx)].get_attribute("data-value"))
        for r in rows(driver, BOARD)
    ]
    assert values == sorted(values, reverse=True)
    assert rtfx.get_attribute("aria-sort") == "descending"
    rtfx.find_element(By.CSS_SELECTOR, "button.sort").click()
    second = [r.get_attribute("data-run") for r in rows(driver, BOARD)]
    assert second == first[::-1] and sorted(first) == sorted(before)

    box = driver.find_element(By.CSS_SELECTOR, f'input.filter[data-table="{BOARD}"]')
    box.send_keys("ten of clubs")
    shown = [r for r in rows(driver, BOARD) if r.is_displayed()]
    assert len(shown) == 1 and "ten of clubs" in shown[0].text
    box.clear()
    box.send_keys(" ")  # an emptied filter shows every row again
    assert all(r.is_displayed() for r in rows(driver, BOARD))

    run_id = shown[0].get_attribute("data-run")
    link = shown[0].find_element(By.CSS_SELECTOR, "td:first-child a")  # the run permalink comes first
    link.click()
    assert driver.current_url.endswith(f"/runs/{run_id}.html")
    assert run_id in driver.find_element(By.TAG_NAME, "h1").text
    assert driver.find_elements(By.CSS_SELECTOR, ".diff ins")
    assert driver.find_elements(By.TAG_NAME, "audio")
    assert severe(driver) == []


def _shown_percent(cell) -> float:  # noqa: ANN001
    """The number a leaderboard cell shows first ("85.92%" before any interval)."""
    match = re.match(r"\s*(-?[0-9]+(?:\.[0-9]+)?)%", cell.text)
    assert match, f"no percentage shown in {cell.text!r}"
    return float(match.group(1))


def test_the_board_shows_the_stored_wer_and_sorts_by_it(browser, demo_site: Path, demo_results: Path) -> None:  # noqa: F811
    """What the reader sees is what the results store holds: each row's WER text is the stored run WER
    (to the 2 decimals shown), and sorting by WER orders the rows by the stored values."""
    from selenium.webdriver.common.by import By

    from modellab.results.views import connect

    stored = dict(
        connect(demo_results).execute("SELECT run_id, wer FROM runs WHERE dataset = 'cards_golden_v1'").fetchall()
    )
    driver = browser
    driver.get(demo_site.joinpath("index.html").resolve().as_uri())
    headers = driver.find_elements(By.CSS_SELECTOR, f"#{BOARD} thead th")
    wer = next(h for h in headers if h.text.split()[0] == "WER")
    column = headers.index(wer)
    shown = {
        r.get_attribute("data-run"): _shown_percent(r.find_elements(By.TAG_NAME, "td")[column])
        for r in rows(driver, BOARD)
    }
    assert set(shown) == set(stored) and len(shown) == 2
    for run_id, value in shown.items():
        assert value == pytest.approx(100 * stored[run_id], abs=0.005), run_id
    assert len(set(stored.values())) == 2  # the two runs differ, so an order is a real check
    wer.find_element(By.CSS_SELECTOR, "button.sort").click()
    order = [r.get_attribute("data-run") for r in rows(driver, BOARD)]
    by_stored = sorted(stored, key=stored.__getitem__)
    assert order in (by_stored, by_stored[::-1])
    wer.find_element(By.CSS_SELECTOR, "button.sort").click()
    assert [r.get_attribute("data-run") for r in rows(driver, BOARD)] == order[::-1]
    assert severe(driver) == []


@pytest.fixture(scope="module")
def diarization_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One diarization run (the offline heuristic diarizer on one synthetic conversation), one ASR run
    (the dummy model) and their site, with two optional pages: the MOS page, written first, and a later one."""
    from modellab.app import run_config
    from modellab.config.registry import compose_config
    from modellab.site import build_site
    from modellab.site.build import PageProvider, render_page
    from modellab.site.load import Registry
    from modellab.site.pages.mos import write_mos_page

    results = tmp_path_factory.mktemp("diarization-results") / "results"
    overrides = ["+model=heuristic_diarization", "task=diarization", "dataset=diar_golden_synth_v1", "+dataset.limit=1"]
    run_config(compose_config([*overrides, f"results_dir={results}", "progress=false"]))
    asr = ["+model=dummy_asr", "task=asr", "dataset=cards_golden_v1"]
    run_config(compose_config([*asr, f"results_dir={results}", "progress=false"]))
    providers = [
        PageProvider("MOS", write_mos_page, "mos.html"),
        PageProvider("Later", lambda w, con: render_page(w.site_dir, "later.html", "Later", "<p>x</p>"), "later.html"),
    ]
    site = build_site(
        results,
        tmp_path_factory.mktemp("diarization-site") / "site",
        registry=Registry(),
        providers=providers,
        quiet=True,
    )
    return results, site


def test_the_board_shows_the_stored_der(browser, diarization_site: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    from modellab.results.views import connect

    results, site = diarization_site
    ((run_id, der),) = connect(results).execute("SELECT run_id, der FROM runs WHERE task = 'diarization'").fetchall()
    driver = browser
    driver.get(site.joinpath("index.html").resolve().as_uri())
    board = "lb-diarization-diar_golden_synth_v1-table"
    headers = driver.find_elements(By.CSS_SELECTOR, f"#{board} thead th")
    column = next(i for i, h in enumerate(headers) if h.text.split()[0] == "DER")
    (row,) = rows(driver, board)
    assert row.get_attribute("data-run") == run_id
    assert _shown_percent(row.find_elements(By.TAG_NAME, "td")[column]) == pytest.approx(100 * der, abs=0.005)
    assert severe(driver) == []


def test_the_runs_page_shows_each_runs_own_metric_and_no_star(browser, diarization_site: tuple[Path, Path]) -> None:
    """A list of runs of several tasks: WER on the ASR row, DER on the diarization row (not one task's
    columns for every row), the permalink first, and no ★/☆ (they would compare across tasks)."""
    from selenium.webdriver.common.by import By

    from modellab.results.views import connect

    results, site = diarization_site
    stored = {
        task: (run_id, value)
        for run_id, task, value in connect(results)
        .execute("SELECT run_id, task, CASE WHEN task = 'asr' THEN wer ELSE der END FROM runs")
        .fetchall()
    }
    driver = browser
    driver.get(site.joinpath("runs.html").resolve().as_uri())
    headers = [h.text.split("\n")[0].strip() for h in driver.find_elements(By.CSS_SELECTOR, "#all-runs-table thead th")]
    assert headers[0] == "Run" and "Metric" in headers and "Value" in headers
    by_run = {r.get_attribute("data-run"): r.find_elements(By.TAG_NAME, "td") for r in rows(driver, "all-runs-table")}
    for task, metric in (("asr", "WER"), ("diarization", "DER")):
        run_id, value = stored[task]
        cells = by_run[run_id]
        assert cells[headers.index("Metric")].text.split()[0] == metric, task
        assert _shown_percent(cells[headers.index("Value")]) == pytest.approx(100 * value, abs=0.005), task
        assert cells[0].find_element(By.TAG_NAME, "a").get_attribute("href").endswith(f"/runs/{run_id}.html")
    assert not driver.find_elements(By.CSS_SELECTOR, "#all-runs-table .best-mark")
    # every ★/☆ of the landing page sits in a table of one task
    driver.get(site.joinpath("index.html").resolve().as_uri())
    for mark in driver.find_elements(By.CSS_SELECTOR, ".best-mark"):
        section = mark.find_element(By.XPATH, "./ancestor::section[contains(@class, 'board')]")
        assert section.get_attribute("id").startswith(("lb-asr-", "lb-diarization-")), section.get_attribute("id")
    box = driver.find_element(By.CSS_SELECTOR, 'input.filter[data-table="lb-asr-cards_golden_v1-table"]')
    box.send_keys("no such model anywhere")
    assert "No rows match" in driver.find_element(By.CSS_SELECTOR, "#lb-asr-cards_golden_v1-table tr.no-match").text
    assert severe(driver) == []


def test_the_menu_is_the_same_on_every_page(browser, diarization_site: tuple[Path, Path]) -> None:
    """Built last: the MOS page, written before the later optional page existed, links it too; each
    page marks itself as the current one."""
    from selenium.webdriver.common.by import By

    _, site = diarization_site
    menus = {}
    for page in ("index.html", "runs.html", "charts.html", "languages.html", "mos.html", "later.html", "models.html"):
        browser.get(site.joinpath(page).resolve().as_uri())
        links = browser.find_elements(By.CSS_SELECTOR, "header nav a")
        menus[page] = [(a.text, a.get_attribute("href").rsplit("/", 1)[-1]) for a in links]
        current = [
            a.get_attribute("href").rsplit("/", 1)[-1] for a in links if a.get_attribute("aria-current") == "page"
        ]
        assert current == [page], page
        assert severe(browser) == [], page
    assert all(menu == menus["index.html"] for menu in menus.values()), menus
    assert ("MOS", "mos.html") in menus["index.html"] and ("Later", "later.html") in menus["mos.html"]


def test_other_pages_load_without_console_errors(browser, demo_site: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    for page in ("charts.html", "runs.html", "models.html", "datasets.html", "experiments.html"):
        driver.get(demo_site.joinpath(page).resolve().as_uri())
        assert severe(driver) == [], page
    driver.get(demo_site.joinpath("charts.html").resolve().as_uri())
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart circle")
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart path.front")


def test_workbench_builds_the_command(browser, demo_site: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(demo_site.joinpath("workbench.html").resolve().as_uri())
    command = driver.find_element(By.ID, "wb-command")
    assert command.text == "python -m modellab +model=faster_whisper task=asr"  # a production ASR model
    for box in driver.find_elements(By.CSS_SELECTOR, '#workbench input[name="model"]'):
        if box.is_selected():
            box.click()
    model = driver.find_element(By.CSS_SELECTOR, '#wb-models input[value="dummy_asr"]')
    other = driver.find_element(By.CSS_SELECTOR, '#wb-models input[value="faster_whisper"]')
    model.click()
    other.click()
    driver.find_element(By.CSS_SELECTOR, '#wb-datasets input[value="cards_golden_v1"]').click()
    assert command.text == "python -m modellab -m +model=dummy_asr,faster_whisper task=asr dataset=cards_golden_v1"
    other.click()
    assert command.text == "python -m modellab +model=dummy_asr task=asr dataset=cards_golden_v1"
    # only models that declare the selected task are offered
    for choice in driver.find_elements(By.CSS_SELECTOR, "#wb-models .choice"):
        assert choice.is_displayed() == ("asr" in choice.get_attribute("data-caps").split())
    assert severe(driver) == []


def test_console_errors_are_caught(browser, tmp_path: Path) -> None:
    """The harness itself: a page with a script error and a missing file does report SEVERE entries."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><title>x</title><img src="missing.png"><script>notDefined();</script>')
    browser.get(page.as_uri())
    errors = severe(browser)
    assert any("notDefined" in e for e in errors)


def test_mos_page_renders_a_prompt_that_opens_a_comment_and_a_script(browser, tmp_path: Path) -> None:
    """``<!--<script>`` in embedded JSON would keep the data script open (HTML's "double escaped"
    script state) and swallow the page's own script: the samples must still be rated."""
    import shutil

    from selenium.webdriver.common.by import By

    from modellab.site.build import STATIC, optional_page_writer
    from modellab.site.pages.mos import write_mos_page
    from tests.test_mos import HOSTILE_PROMPT, one_tts_run

    site = tmp_path / "site"
    shutil.copytree(STATIC, site / "static")
    page = write_mos_page(optional_page_writer(site), one_tts_run(tmp_path))
    browser.get(page.as_uri())
    sections = browser.find_elements(By.CSS_SELECTOR, ".mos-item")
    assert len(sections) == 1
    assert sections[0].find_element(By.CSS_SELECTOR, ".mos-text").text == HOSTILE_PROMPT
    assert browser.find_element(By.ID, "mos-progress").text == "0 of 1 rated"
    assert severe(browser) == []
