"""MOS: the t-interval by hand, ratings-file checks, the rating page, and ingestion into the results
(per-run metrics, latest rating per rater wins, re-ingesting never double counts)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from modellab.analysis.mos import FORMAT, MosError, ingest, main, mos_interval, read_ratings
from modellab.results.views import connect
from modellab.site.build import optional_page_writer
from modellab.site.pages.mos import write_mos_page


def render_mos_page(site_dir: Path, con: object, per_model: int = 12) -> Path:
    """The rating page as the site writes it (its layout, nav of the pages that exist)."""
    return write_mos_page(optional_page_writer(Path(site_dir)), con, per_model=per_model)


T_975_DF3 = 3.182446305284263  # Student t, 97.5th percentile, 3 degrees of freedom (tables)
T_975_DF4 = 2.7764451051977987


def test_mos_interval_by_hand() -> None:
    mean, ci = mos_interval([4, 5, 3, 4])
    assert mean == 4.0
    # sample sd = sqrt((0 + 1 + 1 + 0) / 3); half-width = t * sd / sqrt(4)
    assert ci == pytest.approx(T_975_DF3 * math.sqrt(2 / 3) / 2)
    assert mos_interval([5]) == (5.0, None)
    assert mos_interval([3, 3, 3]) == (3.0, 0.0)
    with pytest.raises(ValueError):
        mos_interval([])


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"format": "other"}, 'expected "format"'),
        ({"format": FORMAT, "ratings": []}, "non-empty list"),
        ({"format": FORMAT, "ratings": [{"run_id": "r", "sample_id": "s", "score": 6}]}, r"ratings\[0\].score"),
        ({"format": FORMAT, "ratings": [{"run_id": "r", "sample_id": "s", "score": "4"}]}, r"ratings\[0\].score"),
        ({"format": FORMAT, "ratings": [{"run_id": "r", "sample_id": "s", "score": True}]}, r"ratings\[0\].score"),
        ({"format": FORMAT, "ratings": [{"sample_id": "s", "score": 4}]}, r"ratings\[0\].run_id"),
    ],
)
def test_bad_ratings_files_are_refused_with_the_file_named(tmp_path: Path, doc: object, problem: str) -> None:
    path = _write(tmp_path / "r.json", doc)
    with pytest.raises(MosError, match=problem) as err:
        read_ratings(path)
    assert str(path) in str(err.value)


def test_unreadable_ratings_files(tmp_path: Path) -> None:
    with pytest.raises(MosError, match="file not found"):
        read_ratings(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(MosError, match="not a JSON ratings export"):
        read_ratings(bad)


@pytest.fixture
def tts_run(run_cell) -> str:
    summary = run_cell(
        "+model=espeak_ng",
        "task=tts",
        "dataset=tts_smoke_v1",
        "task.options.intelligibility.asr_model=null",
        "task.options.quality.predictors=[]",
    )
    return summary.run_id


def _page_items(page: Path) -> list[dict]:
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="mos-data">(.*?)</script>', text, re.S)
    assert match, "the page embeds its items"
    return json.loads(match.group(1))["items"]


def _export(rater_id: str, when: str, ratings: list[tuple[dict, int]]) -> dict:
    return {
        "format": FORMAT,
        "rater": rater_id.upper(),
        "rater_id": rater_id,
        "exported_at": when,
        "ratings": [
            {"item": it["item"], "run_id": it["run_id"], "sample_id": it["sample_id"], "score": s} for it, s in ratings
        ],
    }


def test_page_then_ingest(tts_run: str, results_dir: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    page = render_mos_page(site, connect(results_dir), per_model=3)
    assert page == site / "mos.html" and page.exists()
    items = _page_items(page)
    assert len(items) == 3 and {it["run_id"] for it in items} == {tts_run}
    for it in items:
        assert (site / it["audio"]).is_file()  # the wavs travel with the site
        assert it["text"]
    assert "espeak_ng" not in page.read_text(encoding="utf-8")  # blind: no model names on the page

    a, b, c = items
    first = _write(tmp_path / "ra.json", _export("ra", "2026-01-01T10:00:00Z", [(a, 5), (b, 4), (c, 3)]))
    second = _write(tmp_path / "rb.json", _export("rb", "2026-01-01T11:00:00Z", [(a, 4), (b, 4)]))
    per_model = ingest([first, second], results_dir)
    # scores 5, 4, 3, 4, 4: mean 4, sample sd sqrt(2/4)
    expected_ci = T_975_DF4 * math.sqrt(0.5) / math.sqrt(5)
    assert per_model["espeak_ng"].mos == pytest.approx(4.0) and per_model["espeak_ng"].ci95 == pytest.approx(
        expected_ci
    )
    row = connect(results_dir).execute("SELECT mos, mos_ci95, mos_n, mos_raters FROM runs").fetchall()[0]
    assert row == (pytest.approx(4.0), pytest.approx(expected_ci), 5.0, 2.0)

    ingest([first], results_dir)  # the same file again: nothing counted twice
    assert connect(results_dir).execute("SELECT mos, mos_n FROM runs").fetchall()[0] == (pytest.approx(4.0), 5.0)

    # Rater A exports again later with a changed mind on c: the latest rating wins.
    later = _write(tmp_path / "ra2.json", _export("ra", "2026-01-02T10:00:00Z", [(a, 5), (b, 4), (c, 5)]))
    ingest([later], results_dir)
    mos, ci, n = connect(results_dir).execute("SELECT mos, mos_ci95, mos_n FROM runs").fetchall()[0]
    assert (mos, n) == (pytest.approx(4.4), 5.0)  # 5, 4, 5, 4, 4
    assert ci == pytest.approx(T_975_DF4 * math.sqrt(1.2 / 4) / math.sqrt(5))
    names = {r[0] for r in connect(results_dir).sql("SELECT name FROM metrics").fetchall()}
    assert {"mos", "mos_ci95", "mos_n", "mos_raters", "rtfx"} <= names


def test_ratings_of_unknown_runs_are_refused(tts_run: str, results_dir: Path, tmp_path: Path) -> None:
    doc = {"format": FORMAT, "ratings": [{"run_id": "20990101T000000-abcdef", "sample_id": "s", "score": 3}]}
    path = _write(tmp_path / "r.json", doc)
    with pytest.raises(MosError, match="not in the results store"):
        ingest([path], results_dir)
    assert main(["--results-dir", str(results_dir), "ingest", str(path)]) == 2


def test_page_without_tts_runs_says_what_to_do(results_dir: Path, tmp_path: Path) -> None:
    page = render_mos_page(tmp_path / "site", connect(results_dir))
    assert "python -m modellab +model=piper task=tts" in page.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.browser
def test_rating_in_a_real_browser_and_ingesting_the_export(tts_run: str, results_dir: Path, tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_bin:
        pytest.skip("chromium / chromedriver not installed")
    page = render_mos_page(tmp_path / "site", connect(results_dir), per_model=3)
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.binary_location = chromium
    browser = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver_bin))
    try:
        browser.get(page.as_uri())
        sections = browser.find_elements(By.CSS_SELECTOR, ".mos-item")
        assert len(sections) == 3
        browser.find_element(By.ID, "mos-rater").send_keys("Ann")
        for section in sections:
            section.find_elements(By.CSS_SELECTOR, "input[type=radio]")[3].click()  # 4 Good
        assert browser.find_element(By.ID, "mos-progress").text == "3 of 3 rated"
        duration = browser.execute_script(
            "const a = document.querySelector('audio'); a.preload = 'auto'; a.load();"
            "return new Promise(r => { a.onloadedmetadata = () => r(a.duration); a.onerror = () => r(-1);"
            " setTimeout(() => r(-2), 5000); });"
        )
        assert duration > 0  # the copied wav plays
        browser.find_element(By.ID, "mos-export-button").click()
        exported = browser.find_element(By.ID, "mos-export").get_attribute("value")
        browser.refresh()  # ratings survive a reload (localStorage)
        assert browser.find_element(By.ID, "mos-progress").text == "3 of 3 rated"
    finally:
        browser.quit()
    doc = json.loads(exported)
    assert doc["rater"] == "Ann" and len(doc["ratings"]) == 3
    per_model = ingest([_write(tmp_path / "export.json", doc)], results_dir)
    assert per_model["espeak_ng"].mos == 4.0 and per_model["espeak_ng"].ci95 == 0.0 and per_model["espeak_ng"].n == 3


HOSTILE_PROMPT = 'say <!--<script> & "hi" </script> now'


def one_tts_run(tmp_path: Path, text: str = HOSTILE_PROMPT) -> object:
    """A DuckDB connection with the ``runs`` and ``samples`` columns the page reads: one TTS run,
    one generated wav whose prompt is ``text``."""
    import duckdb

    wav = tmp_path / "generated" / "s1.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVE")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE runs (run_id VARCHAR, task VARCHAR, model VARCHAR, dataset VARCHAR, model_params VARCHAR, "
        "status VARCHAR, started_at TIMESTAMP)"
    )
    con.execute("INSERT INTO runs VALUES ('r1', 'tts', 'espeak_ng', 'prompts', NULL, 'ok', '2026-01-01 10:00')")
    con.execute(
        "CREATE TABLE samples (run_id VARCHAR, sample_id VARCHAR, reference VARCHAR, artifact VARCHAR, error VARCHAR)"
    )
    con.execute("INSERT INTO samples VALUES ('r1', 's1', ?, ?, NULL)", [text, str(wav)])
    return con


def test_embedded_items_escape_markup_so_a_prompt_cannot_end_or_comment_out_the_script(tmp_path: Path) -> None:
    page = render_mos_page(tmp_path / "site", one_tts_run(tmp_path))
    text = page.read_text(encoding="utf-8")
    # <, > and & as JSON \u escapes (worked out by hand from HOSTILE_PROMPT); '"' stays \"
    assert r'"text": "say \u003c!--\u003cscript\u003e \u0026 \"hi\" \u003c/script\u003e now"' in text
    assert "<!--<script>" not in text and "</script> now" not in text
    (item,) = _page_items(page)
    # the site's audio store names a file by its bytes; ffmpeg cannot read this stub, so it is copied as it is
    stub = b"RIFF\x24\x00\x00\x00WAVE"
    expected = f"audio/{hashlib.sha256(stub).hexdigest()[:32]}.wav"
    assert item["text"] == HOSTILE_PROMPT and item["run_id"] == "r1" and item["audio"] == expected
    assert (tmp_path / "site" / expected).read_bytes() == stub


def test_the_page_command_moved_to_the_site(results_dir: Path, tmp_path: Path, capsys) -> None:
    from modellab.site.__main__ import main as site_main

    assert main(["page", str(tmp_path / "old")]) == 2
    err = capsys.readouterr().err
    assert f"python -m modellab site --page mos --out {tmp_path / 'old'} --per-model 12" in err
    assert not (tmp_path / "old").exists()  # analysis writes no pages
    out = tmp_path / "mos-only"
    assert site_main(["--results-dir", str(results_dir), "--out", str(out), "--page", "mos", "--per-model", "2"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "mos.html")
    assert "python -m modellab +model=piper task=tts" in (out / "mos.html").read_text(encoding="utf-8")
