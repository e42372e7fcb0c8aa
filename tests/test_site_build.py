"""The site built from real runs (dummy model, hostile names, a ``<script>`` transcript): every
link resolves, text is escaped, leaderboards mark the best, run pages carry diff, audio, CSV."""

from __future__ import annotations

import csv
import functools
import glob
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from modellab.app import run_config
from modellab.config.registry import compose_config
from modellab.results.views import connect
from modellab.site import PageProvider, SiteError, build_site, render_page
from modellab.site.load import Registry, load_registry
from modellab.site.shaping import dataset_page, model_page, run_page

SWEEP = "2026-01-01_00-00-00"
SCRIPT = '<script>alert("pwned")</script>'
EVIL_MODEL = "<img src=x onerror=alert(1)>"
EVIL_FILE = 'evil <i>"name" & co.wav'

registry = functools.cache(load_registry)  # loaded once per test session


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs through the CLI's code path: a two-run sweep, a hostile transcript, hostile names."""
    results = tmp_path_factory.mktemp("site-results") / "results"

    def run(*overrides: str, sweep_id: str | None = None) -> None:
        cfg = compose_config([*overrides, f"results_dir={results}", "progress=false"])
        run_config(cfg, sweep_id=sweep_id)

    run("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", sweep_id=SWEEP)
    run("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text='ten of clubs'", sweep_id=SWEEP)
    run("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", f"model.options.text='{SCRIPT} he was not'")
    wav = sorted(glob.glob(str(Path(__file__).parents[1] / "data/built/cards_golden_v1/**/*.wav"), recursive=True))[0]
    evil = tmp_path_factory.mktemp("evil") / EVIL_FILE
    shutil.copyfile(wav, evil)
    run(
        "+model=dummy_asr",
        "task=asr",
        f"audio='{evil}'",
        "reference='ten of clubs'",
        f"model.name='{EVIL_MODEL}'",
        f"model.options.text='{SCRIPT}'",
    )
    return results


@pytest.fixture(scope="session")
def demo_site(demo_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site") / "site"
    return build_site(demo_results, site, registry=registry(), providers=[], quiet=True)


class _Page(HTMLParser):
    """Collects links (href/src), element ids and script tags of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for key in ("href", "src"):
            if values.get(key) is not None:
                self.links.append(str(values[key]))
        if tag == "script":
            self.scripts.append(values)


@functools.cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site: Path) -> list[str]:
    """Every href/src of every page must be relative and point at an existing file (and id)."""
    problems = []
    pages = sorted(site.rglob("*.html"))
    assert pages, f"no pages in {site}"
    for page in pages:
        for link in _parse(page).links:
            if link.startswith("data:"):
                continue
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or link.startswith("/"):
                problems.append(f"{page.relative_to(site)}: not a relative link: {link}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            if site.resolve() not in target.parents:
                problems.append(f"{page.relative_to(site)}: leaves the site: {link}")
            elif not target.is_file():
                problems.append(f"{page.relative_to(site)}: missing {link}")
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in _parse(target).ids:
                problems.append(f"{page.relative_to(site)}: no id '{parts.fragment}' in {link}")
    return problems


def _run_ids(results: Path, where: str = "true") -> list[str]:
    return [r[0] for r in connect(results).execute(f"SELECT run_id FROM runs WHERE {where}").fetchall()]


def test_every_page_exists_and_every_link_resolves(demo_site: Path, demo_results: Path) -> None:
    for page in ("index.html", "charts.html", "runs.html", "models.html", "datasets.html", "experiments.html"):
        assert (demo_site / page).is_file(), page
    assert (demo_site / "workbench.html").is_file()
    for run_id in _run_ids(demo_results):
        assert (demo_site / run_page(run_id)).is_file()
    assert (demo_site / f"experiments/{SWEEP}.html").is_file()
    assert (demo_site / model_page("dummy_asr")).is_file()
    assert (demo_site / model_page("faster_whisper")).is_file()  # registry models without results too
    assert (demo_site / dataset_page("cards_golden_v1")).is_file()
    assert (demo_site / model_page(EVIL_MODEL)).is_file()
    assert broken_links(demo_site) == []


def test_hostile_text_and_names_are_escaped(demo_site: Path) -> None:
    pages = sorted(demo_site.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html, page
        assert "<img src=x" not in html, page
        assert "<i>" not in html, page
        for script in _parse(page).scripts:  # only our own script file and inert JSON
            assert (script.get("src") or "").endswith("static/site.js") or script.get("type") == "application/json"
    evil_run = next(p for p in (demo_site / "runs").glob("*.html") if "adhoc:" in p.read_text())
    html = evil_run.read_text()
    assert "&lt;script&gt;alert(" in html  # the transcript shows as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the model name too
    assert "evil &lt;i&gt;&#34;name&#34; &amp; co.wav" in html  # and the file name
    index = (demo_site / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in index


def _board_rows(html: str, board_id: str) -> list[str]:
    table = html.split(f'id="{board_id}-table"', 1)[1].split("</table>", 1)[0]
    return table.split("<tr")[2:]


def _board_headers(html: str, board_id: str) -> list[str]:
    table = html.split(f'id="{board_id}-table"', 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<button type="button" class="sort">([^<]+)', table)


def test_leaderboard_marks_the_lowest_wer(demo_site: Path, demo_results: Path) -> None:
    html = (demo_site / "index.html").read_text()
    rows = _board_rows(html, "lb-asr-cards_golden_v1")
    assert len(rows) == 2  # the two option variants of dummy_asr are two setups
    assert "text=ten of clubs" in rows[0]  # sorted best first
    con = connect(demo_results)
    best_run, best_wer = con.execute(
        "SELECT run_id, wer FROM runs WHERE dataset = 'cards_golden_v1' ORDER BY wer LIMIT 1"
    ).fetchone()
    assert f'data-run="{best_run}"' in rows[0]
    wer = [h.strip() for h in _board_headers(html, "lb-asr-cards_golden_v1")].index("WER")
    best_cell, other_cell = (re.findall(r"<td([^>]*)>", row)[wer] for row in rows)
    assert "best" in best_cell and "best" not in other_cell
    assert float(re.search(r'data-value="([^"]+)"', best_cell).group(1)) == pytest.approx(best_wer)
    assert "Normaliser:</b> whisper_en" in html and "Hardware:</b>" in html


def test_run_page_has_provenance_diff_audio_and_csv(demo_site: Path, demo_results: Path) -> None:
    (run_id,) = _run_ids(demo_results, "dataset = 'cards_golden_v1' AND model_params LIKE '%ten of clubs%'")
    html = (demo_site / run_page(run_id)).read_text()
    for needle in ("Git sha", "Dataset hash", "Config hash", "Package versions", "All metrics", "Gates"):
        assert needle in html
    assert "<del>" in html and "<ins>" in html  # word diff of reference vs hypothesis
    # stored once (named by content), as Opus
    audio = re.findall(r'<audio controls preload="none" src="\.\./(audio/[0-9a-f]{32}\.opus)"', html)
    assert audio and all((demo_site / a).is_file() for a in audio)
    download = demo_site / "runs" / f"{run_id}.samples.csv"
    with download.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and {"sample_id", "reference", "hypothesis", "wer"} <= set(rows[0])
    assert {r["hypothesis"] for r in rows} == {"ten of clubs"}


def test_experiment_page_shows_the_swept_option(demo_site: Path) -> None:
    html = (demo_site / f"experiments/{SWEEP}.html").read_text()
    assert "model.options.text" in html
    assert "ten of clubs" in html and "he was not an ill disposed young man" in html


def test_workbench_is_built_from_the_registry(demo_site: Path) -> None:
    html = (demo_site / "workbench.html").read_text()
    data = json.loads(html.split('id="wb-registry">', 1)[1].split("</script>", 1)[0])
    models = {m["name"]: m for m in data["models"]}
    assert "asr" in models["dummy_asr"]["capabilities"] and "faster_whisper" in models
    assert "asr" in data["tasks"] and "cpu" in data["devices"] and "none" in data["preprocessing"]
    assert data["defaults"]["asr"] == "librivox_golden_v1"
    assert "python -m modellab +model=" in html


def test_model_and_dataset_pages_show_registry_facts(demo_site: Path) -> None:
    model = (demo_site / model_page("faster_whisper")).read_text()
    assert "production" in model and "MIT" in model and "asr, alignment" in model
    dataset = (demo_site / dataset_page("cards_golden_v1")).read_text()
    assert "golden" in dataset and "BSD-2-Clause" in dataset and "Content hash" in dataset


def test_optional_pages_are_linked_only_when_they_exist(demo_results: Path, tmp_path: Path, monkeypatch) -> None:
    import modellab.site.build as site_build

    def extra_page(writer: object, con: object) -> Path:
        (count,) = con.execute("SELECT count(*) FROM runs").fetchone()  # gets the DuckDB views
        return render_page(writer.site_dir, "extra.html", "Extra", f"<p>{count} runs</p>")

    def broken_page(writer: object, con: object) -> Path:
        raise RuntimeError("cannot render")

    providers = [
        PageProvider("Extra", extra_page, "extra.html"),
        PageProvider("Nothing", lambda writer, con: None, "nothing.html"),
        PageProvider("Absent", broken_page, "absent.html"),
    ]
    monkeypatch.setattr(site_build, "PAGE_PROVIDERS", providers)
    site = build_site(demo_results, tmp_path / "site", registry=Registry(), quiet=True)
    index = (site / "index.html").read_text()
    assert 'href="extra.html"' in index
    assert "nothing.html" not in index and "absent.html" not in index
    extra = (site / "extra.html").read_text()
    assert "4 runs" in extra and 'href="static/site.css"' in extra
    assert broken_links(site) == []


def test_the_default_optional_pages_are_written_and_linked(demo_results: Path, tmp_path: Path) -> None:
    site = build_site(demo_results, tmp_path / "site", registry=Registry(), quiet=True)
    index = (site / "index.html").read_text()
    for page in ("mos.html", "findings.html", "candidates.html"):
        assert f'href="{page}"' in index, page
    assert json.loads((site / "findings.json").read_text())  # the data behind findings.html
    findings = (site / "findings.html").read_text()
    assert 'href="candidates.html"' in findings
    assert "One model only: no recommendation" in findings  # one model (two variants): nothing to compare it with
    assert "No generated speech in the results yet" in (site / "mos.html").read_text()  # no TTS runs
    assert broken_links(site) == []


def test_out_folder_is_replaced_only_when_it_is_a_site(demo_results: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(SiteError, match="not a modellab site"):
        build_site(demo_results, foreign, registry=Registry(), providers=[], quiet=True)
    assert (foreign / "thesis.tex").read_text() == "precious"
    site = build_site(demo_results, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    (site / "runs" / "stale.html").write_text("from an older build")
    build_site(demo_results, site, registry=Registry(), providers=[], quiet=True)
    assert not (site / "runs" / "stale.html").exists()


def test_empty_results_give_a_working_site(tmp_path: Path) -> None:
    site = build_site(tmp_path / "no-results", tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    assert "No results yet" in (site / "index.html").read_text()
    assert broken_links(site) == []


def test_cli(demo_results: Path, tmp_path: Path, monkeypatch) -> None:
    import modellab.site.build as site_build
    from modellab.site.__main__ import main

    monkeypatch.setattr(site_build, "PAGE_PROVIDERS", [])
    monkeypatch.setattr(site_build, "load_registry", registry)
    assert main(["--results-dir", str(demo_results), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").is_file()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("x")
    assert main(["--results-dir", str(demo_results), "--out", str(tmp_path / "taken")]) == 2


@pytest.mark.slow
def test_site_from_a_real_faster_whisper_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    cfg = compose_config(["+model=faster_whisper", "task=asr", "dataset=cards_golden_v1", f"results_dir={results}"])
    cfg.progress = False
    summary = run_config(cfg)
    assert summary.status == "ok"
    site = build_site(results, tmp_path / "site", registry=registry(), providers=[], quiet=True)
    assert broken_links(site) == []
    rows = _board_rows((site / "index.html").read_text(), "lb-asr-cards_golden_v1")
    assert len(rows) == 1 and "faster_whisper" in rows[0]
    html = (site / run_page(summary.run_id)).read_text()
    assert "Worst samples" in html and "<audio" in html and "faster-whisper" in html  # versions table
    charts = (site / "charts.html").read_text()
    assert charts.count("<circle") == 1  # the scatter point; one run over time draws no trend (3 at least)
    assert "Fewer than 3 runs over time: no trend drawn." in charts


def _without_build_time(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<built>", text)


# Builds with page workers run in a fresh interpreter: pytest's own process has threads by now
# (pyannote.audio starts one at import), and a process with threads renders its pages itself.
_FRESH_BUILD = """
import multiprocessing, os, signal, sys
from modellab.site import build_site, run_pages
from modellab.site.load import load_registry

results, out, mode, victim = sys.argv[1:5]
parent, render = os.getpid(), run_pages.RunPages.render

def recording(self, job):
    if job.run["run_id"] == victim and os.getpid() != parent:
        if mode == "raise":
            raise RuntimeError("cannot render " + victim)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
    with open(out + ".pids", "a") as log:
        log.write(f"{os.getpid()}\\n")
    render(self, job)

run_pages.RunPages.render = recording

def build():
    build_site(results, out, registry=load_registry(), providers=[], quiet=True, workers=2)
    return os.getpid()

if mode == "daemon":
    with multiprocessing.get_context("fork").Pool(1) as pool:  # pool workers are daemonic
        print("builder", pool.apply(build))
else:
    print("builder", build())
"""


def _fresh_build(results: Path, out: Path, mode: str = "plain", victim: str = "") -> tuple[int, list[int], str]:
    """Build in a fresh interpreter; (the building process's pid, the pid that rendered each run
    page, stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_BUILD, str(results), str(out), mode, victim],
        capture_output=True,
        text=True,
        timeout=120,  # a worker that dies must fail the build, not hang it
    )
    builder = int(done.stdout.split("builder")[1]) if done.returncode == 0 else -1
    log = Path(f"{out}.pids")
    pids = [int(line) for line in log.read_text().split()] if log.exists() else []
    return builder, pids, done.stderr


def test_run_pages_rendered_by_worker_processes_equal_the_sequential_ones(
    demo_results: Path, demo_site: Path, tmp_path: Path
) -> None:
    parallel = tmp_path / "site"
    builder, pids, stderr = _fresh_build(demo_results, parallel)
    assert builder > 0, stderr[-3000:]
    assert len(pids) == len(_run_ids(demo_results)) and len(set(pids)) == 2 and builder not in pids  # 2 workers
    sequential_files = sorted(p.relative_to(demo_site) for p in demo_site.rglob("*") if p.is_file())
    assert sorted(p.relative_to(parallel) for p in parallel.rglob("*") if p.is_file()) == sequential_files
    run_pages = [f for f in sequential_files if f.parts[0] == "runs"]
    assert len([f for f in run_pages if f.suffix == ".html"]) == len(_run_ids(demo_results))
    for rel in run_pages + [f for f in sequential_files if f.parts[0] == "audio"]:
        if rel.suffix == ".html":
            assert _without_build_time((parallel / rel).read_text()) == _without_build_time(
                (demo_site / rel).read_text()
            )
        else:
            assert (parallel / rel).read_bytes() == (demo_site / rel).read_bytes(), rel
    assert not list(parallel.rglob("*.partial"))  # audio files are renamed into place


def test_a_failing_run_page_worker_fails_the_build(demo_results: Path, tmp_path: Path) -> None:
    victim = _run_ids(demo_results)[0]
    builder, _, stderr = _fresh_build(demo_results, tmp_path / "site", "raise", victim)
    assert builder == -1
    assert f"RuntimeError: cannot render {victim}" in stderr and "in run-page worker" in stderr


def test_a_killed_run_page_worker_fails_the_build_instead_of_hanging_it(demo_results: Path, tmp_path: Path) -> None:
    victim = _run_ids(demo_results)[0]
    builder, _, stderr = _fresh_build(demo_results, tmp_path / "site", "kill", victim)
    assert builder == -1
    assert re.search(r"run-page worker \d \(pid \d+\) died with signal SIGKILL", stderr), stderr[-3000:]


def test_a_process_with_other_threads_renders_run_pages_itself(demo_results: Path, tmp_path: Path, monkeypatch) -> None:
    import os
    import threading

    from modellab.site import run_pages

    pids: list[int] = []
    render = run_pages.RunPages.render

    def recording(self: run_pages.RunPages, job: run_pages.RunPageJob) -> None:
        pids.append(os.getpid())  # a forked worker's list would stay in the worker
        render(self, job)

    monkeypatch.setattr(run_pages.RunPages, "render", recording)
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait, daemon=True)
    waiter.start()
    try:
        build_site(demo_results, tmp_path / "site", registry=registry(), providers=[], quiet=True, workers=2)
    finally:
        stop.set()
        waiter.join()
    assert pids == [os.getpid()] * len(_run_ids(demo_results))


def test_diff_html_marks_every_op_and_escapes_text() -> None:
    from modellab.site.run_pages import diff_html
    from modellab.site.shaping import word_diff

    html = str(diff_html(word_diff("the <b> cat sat on the mat", "so the <b> dog sat on mat")))
    assert html == (
        "<ins>so</ins> <span>the &lt;b&gt;</span> <del>cat</del><ins>dog</ins> <span>sat on</span> "
        "<del>the</del> <span>mat</span> "
    )


def test_sample_table_rows_escape_text_and_format_numbers() -> None:
    from modellab.site.run_pages import sample_table

    columns, rows = sample_table(
        [
            {"sample_id": SCRIPT, "wer": 0.25, "gates_passed": False, "error": 'bad "file" <x>', "hypothesis": "x"},
            {"sample_id": "b", "wer": float("nan"), "gates_passed": True, "error": None},
        ],
        "wer",
    )
    assert columns == ["sample_id", "wer", "gates_passed", "error"]
    assert SCRIPT not in rows[0] and "&lt;script&gt;" in rows[0]
    assert '<td data-value="0.25">25.00%</td>' in rows[0]
    assert 'class="fail">✗</td>' in rows[0] and 'class="pass">✓</td>' in rows[1]
    assert "bad &quot;file&quot; &lt;x&gt;" in rows[0] and 'class="fail">bad' in rows[0]
    assert "nan" in rows[1]  # a NaN is shown as recorded, not formatted as a number


def test_a_build_inside_a_pool_worker_renders_run_pages_itself(demo_results: Path, tmp_path: Path) -> None:
    builder, pids, stderr = _fresh_build(demo_results, tmp_path / "site", "daemon")
    assert builder > 0, stderr[-3000:]
    assert pids == [builder] * len(_run_ids(demo_results))  # the daemonic builder forked no workers


def _menu(html: str) -> str:
    """The site menu of a page without its aria-current mark (which differs per page by design)."""
    menu = re.search(r"<!--nav-->(.*?)<!--/nav-->", html, re.S)
    assert menu, "no menu"
    return re.sub(r'\s*aria-current="page"', "", menu.group(1))


def test_the_menu_is_identical_on_every_page_and_marks_the_current_one(
    demo_results: Path, tmp_path: Path, monkeypatch
) -> None:
    """Optional pages are written first: the earlier one must still link the later one (the menu is built last)."""
    import modellab.site.build as site_build

    def page(name: str):  # noqa: ANN202
        return lambda writer, con: render_page(writer.site_dir, f"{name}.html", name, "<p>x</p>")

    providers = [PageProvider("First", page("first"), "first.html"), PageProvider("Later", page("later"), "later.html")]
    monkeypatch.setattr(site_build, "PAGE_PROVIDERS", providers)
    site = build_site(demo_results, tmp_path / "site", registry=Registry(), quiet=True)
    pages = sorted(site.rglob("*.html"))
    index_menu = _menu((site / "index.html").read_text())
    assert 'href="first.html"' in index_menu and 'href="later.html"' in index_menu and "languages.html" in index_menu
    for path in pages:
        rel = path.relative_to(site).as_posix()
        html = path.read_text()
        depth = "../" * rel.count("/")
        assert _menu(html) == index_menu.replace('href="', f'href="{depth}'), rel
        current = re.findall(r'<a href="([^"]+)" aria-current="page">', html)
        assert current == ([depth + rel] if depth + rel in re.findall(r'href="([^"]+)"', _menu(html)) else []), rel
        assert '<a class="skip" href="#main">' in html and '<main id="main"' in html, rel
