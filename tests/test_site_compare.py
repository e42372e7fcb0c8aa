"""Compare pages (issue 16 item 3), speaker timelines and the site's audio store, on a hand-made store.

The store: dataset ``toy_golden`` (hash h1), three samples, two runs.

    sample  reference        best          errors  cand           errors  words  seconds
    s0      the cat sat      the cat sat   0       the bat sad    2 (S)   3      30
    s1      a b c d          a b c d       0       a b c d        0       4      60
    s2      one two          one           1 (D)   one two        0       2      90

WER best = 1/9, cand = 2/9: ΔWER = +1/9 = +11.11 points over n=3 samples, 180 s = 3.00 min. Per-sample
changes of cand against best: s0 +2/3 (worse), s1 0 (same), s2 −1/2 (better): worst first s0, s1, s2.
Paired bootstrap of Σ(cand−best errors)/Σwords over 3 samples: a resample of s2 three times gives
−1/2 and one of s0 three times +2/3, each with probability 1/27 = 3.7 % > 2.5 %, so the 95 % interval
is exactly [−50.00, +66.67] points: it includes 0, the runs are not separable.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modellab.analysis.rundata import load_run
from modellab.results.store import ResultsStore
from modellab.results.views import connect
from modellab.site import build_site
from modellab.site.audio_store import store_audio
from modellab.site.compare_pages import (
    NotComparableError,
    compare_page,
    headline,
    utterances,
    write_compare_html,
)
from modellab.site.load import Registry
from modellab.site.timeline import Track, Turn, speaker_colours, timeline_svg, turns_from

DATASET = "toy_golden"
ROWS = [  # sample, reference, (best hyp, S, D), (cand hyp, S, D), seconds
    ("s0", "the cat sat", ("the cat sat", 0, 0), ("the bat sad", 2, 0), 30.0),
    ("s1", "a b c d", ("a b c d", 0, 0), ("a b c d", 0, 0), 60.0),
    ("s2", "one two", ("one", 0, 1), ("one two", 0, 0), 90.0),
]


@pytest.fixture(autouse=True)
def audio_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "audio-cache"
    monkeypatch.setenv("MODELLAB_SITE_AUDIO_CACHE", str(cache))
    return cache


def _wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return path


def _run(run_id: str, model: str, wer: float, dataset_hash: str = "h1") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": f"2026-01-01T10:00:0{len(run_id) % 10}+00:00",
        "model": model,
        "task": "asr",
        "dataset": DATASET,
        "dataset_hash": dataset_hash,
        "device": "cpu",
        "preprocessing": "none",
        "status": "ok",
        "n_samples": 3,
        "n_failed": 0,
        "normalizer": "basic",
        "model_params": "{}",
        "wer": wer,
    }


def _samples(run_id: str, which: int, audio: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for (sample_id, reference, *hyps, seconds), path in zip(ROWS, audio, strict=True):
        text, subs, dels = hyps[which]
        words = len(reference.split())
        rows.append(
            {
                "run_id": run_id,
                "sample_id": sample_id,
                "audio_path": str(path),
                "reference": reference,
                "hypothesis": text,
                "error": None,
                "ref_words": words,
                "substitutions": subs,
                "deletions": dels,
                "insertions": 0,
                "wer": (subs + dels) / words,
                "duration_s": seconds,
                "compute_s": 0.1,
            }
        )
    return rows


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """best, cand and (on another version of the data, hash h2) other. s0's and s1's audio are two
    files with the same bytes: the site must hold them once."""
    root = tmp_path / "results"
    clip = _wav(tmp_path / "audio" / "s0.wav")
    twin = tmp_path / "elsewhere" / "s1.wav"
    twin.parent.mkdir()
    twin.write_bytes(clip.read_bytes())
    audio = [clip, twin, _wav(tmp_path / "audio" / "s2.wav", seconds=0.7)]
    results = ResultsStore(root)
    for run_id, model, which, wer, data in (
        ("best", "m_best", 0, 1 / 9, "h1"),
        ("cand", "m_cand", 1, 2 / 9, "h1"),
        ("other", "m_other", 1, 2 / 9, "h2"),
    ):
        metrics = [{"run_id": run_id, "name": "wer", "value": wer, "higher_is_better": False}]
        results.write_run(_run(run_id, model, wer, data), _samples(run_id, which, audio), metrics)
    return root


def _comparison(store: Path, a: str = "best", b: str = "cand") -> Any:
    from modellab.site.compare_pages import _compare

    con = connect(store)
    return _compare(load_run(con, a), load_run(con, b), "wer", all_intervals=True)


def test_headline_is_the_paired_wer_change_with_its_interval_n_and_minutes(store: Path) -> None:
    h = headline(_comparison(store), "wer")
    assert h is not None and h.metric == "wer"
    assert h.delta == pytest.approx(1 / 9) and (h.baseline, h.candidate) == pytest.approx((1 / 9, 2 / 9))
    assert (h.low, h.high) == pytest.approx((-0.5, 2 / 3))
    assert h.n == 3 and h.minutes == pytest.approx(3.0)
    assert not h.significant and h.verdict == "not separable: the interval includes 0"
    assert h.signed(h.delta) == "+11.11 pts" and h.signed(h.low) == "-50.00 pts"


def test_utterances_pair_by_sample_worst_regression_first_with_both_diffs(store: Path, tmp_path: Path) -> None:
    rows = utterances(_comparison(store), lambda source: None)
    assert [(u.sample_id, u.status) for u in rows] == [("s0", "worse"), ("s1", "same"), ("s2", "better")]
    assert [u.delta for u in rows] == pytest.approx([2 / 3, 0.0, -0.5])
    s0 = rows[0]
    assert s0.reference == "the cat sat"
    assert str(s0.diffs[0]) == "<span>the cat sat</span> "  # runs of equal words are merged
    assert str(s0.diffs[1]) == "<span>the</span> <del>cat sat</del><ins>bat sad</ins> "
    assert str(rows[2].diffs[0]) == "<span>one</span> <del>two</del> "  # best dropped "two"


def test_runs_on_other_data_are_refused_naming_the_field(store: Path, tmp_path: Path) -> None:
    with pytest.raises(NotComparableError, match="dataset_hash: h1 -> h2"):
        _comparison(store, "best", "other")
    from modellab.site.compare_cli import main

    out = tmp_path / "page" / "cmp.html"
    code = main(["best", "other", "--results-dir", str(store), "--html", str(out), "--resamples", "50", "--no-nist"])
    assert code == 3 and not out.exists() and not out.parent.exists()


def test_cli_writes_a_standalone_page(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from modellab.site.compare_cli import main

    out = tmp_path / "page" / "cmp.html"
    assert main(["best", "cand", "--results-dir", str(store), "--html", str(out), "--no-nist"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "+11.11 pts" in html and "[-50.00 pts, +66.67 pts]" in html and "n=3, 3.00 min paired" in html
    assert html.index('data-sample="s0"') < html.index('data-sample="s1"') < html.index('data-sample="s2"')
    assert (out.parent / "static" / "site.css").is_file()
    assert len(list((out.parent / "audio").iterdir())) == 2  # s0 and s1 share their bytes


def test_board_rows_link_a_compare_page_against_the_best_and_audio_is_stored_once(store: Path, tmp_path: Path) -> None:
    site = build_site(store, tmp_path / "site", registry=Registry(), providers=[], quiet=True)
    index = (site / "index.html").read_text(encoding="utf-8")
    rel = compare_page("best", "cand")
    assert index.count('class="compare-link"') == 1 and f'href="{rel}"' in index  # only cand's row; other: h2
    assert not (site / compare_page("best", "other")).exists()
    page = (site / rel).read_text(encoding="utf-8")
    assert "m_cand vs m_best on toy_golden" in page and "+11.11 pts" in page
    stored = sorted(p.name for p in (site / "audio").iterdir())
    assert len(stored) == 2 and all(name.endswith(".opus") for name in stored)  # 3 wavs, 2 contents
    assert not (site / "media").exists()
    for name in stored:
        data = (site / "audio" / name).read_bytes()
        assert data[:4] == b"OggS" and b"OpusHead" in data[:64]
        assert f'src="../audio/{name}"' in page  # the compare page refers to the same files


def test_store_audio_names_by_content_and_copies_what_ffmpeg_cannot_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = tmp_path / "site"
    a = _wav(tmp_path / "a.wav")
    b = tmp_path / "b" / "same.wav"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    assert store_audio(str(a), site) == store_audio(str(b), site)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVE")
    with caplog.at_level(logging.WARNING):
        kept = store_audio(str(bad), site)
    assert kept is not None and kept.endswith(".wav") and (site / kept).read_bytes() == bad.read_bytes()
    assert "could not encode" in caplog.text
    assert store_audio(str(tmp_path / "missing.wav"), site) is None and store_audio("notes.txt", site) is None
    assert len(list((site / "audio").iterdir())) == 2


def test_hypothesis_speakers_take_the_colour_of_the_reference_speaker_they_overlap_most() -> None:
    ref = [Turn(0, 5, "A"), Turn(5, 10, "B")]
    hyp = [Turn(0, 4.5, "spk1"), Turn(4.5, 10, "spk0"), Turn(10, 11, "spk2")]
    # spk1 overlaps A 4.5 s; spk0 overlaps A 0.5 s and B 5 s; spk2 overlaps nobody: next free colour 2
    assert speaker_colours(ref, [hyp]) == [{"A": 0, "B": 1}, {"spk1": 0, "spk0": 1, "spk2": 2}]
    svg = str(timeline_svg([Track("Reference", ref), Track("Hypothesis <x>", hyp)], 12.0))
    assert svg.count('<rect class="c') == 5 and "Hypothesis &lt;x&gt;" in svg and "<x>" not in svg
    assert turns_from('{"turns": [{"start": 0, "end": 1.5, "speaker": "S"}]}') == [Turn(0.0, 1.5, "S")]
    assert turns_from("not json") is None and turns_from({"text": "hi"}) is None


def test_write_compare_html_refuses_runs_without_shared_samples(store: Path, tmp_path: Path) -> None:
    cmp = _comparison(store)
    cmp.n_paired = 0
    with pytest.raises(NotComparableError, match="share no sample"):
        write_compare_html(cmp, tmp_path / "x" / "cmp.html")
    assert not (tmp_path / "x").exists()
