"""Fault-injection suite: bad audio, bad references, bad config, bad manifests, crashes, concurrency.

Each case of the reliability issue is a named test. Audio cases run through the real runner
(with the dummy model, so they are fast) on a manifest of deliberately broken files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from modellab.results.views import connect
from tests.conftest import REPO, run_cli

CLIP = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
CLIP_TEXT = "he was not an ill disposed young man"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def bad_audio_run(tmp_path_factory: pytest.TempPathFactory):
    """A manifest of broken and unusual files, run once with the dummy model."""
    root = tmp_path_factory.mktemp("bad_audio")
    a = root / "audio"
    a.mkdir()
    data, sr = soundfile.read(str(CLIP), dtype="float32")
    (a / "empty.wav").write_bytes(b"")
    (a / "text.wav").write_text("this is not audio\n")
    (a / "truncated.wav").write_bytes(CLIP.read_bytes()[:20000])
    _ffmpeg("-i", str(CLIP), str(a / "clip.mp3"))
    (a / "truncated.mp3").write_bytes((a / "clip.mp3").read_bytes()[:3000])
    _ffmpeg("-i", str(CLIP), str(a / "clip.flac"))
    flac = bytearray((a / "clip.flac").read_bytes())
    flac[:4] = b"XXXX"  # corrupt the magic number
    (a / "corrupt.flac").write_bytes(bytes(flac))
    soundfile.write(str(a / "silence.wav"), np.zeros(2 * sr, dtype=np.float32), sr)
    soundfile.write(str(a / "one_sample.wav"), np.array([0.1], dtype=np.float32), sr)
    bad = data.copy()
    bad[100] = np.nan
    bad[200] = np.inf
    soundfile.write(str(a / "nan_inf.wav"), bad, sr, subtype="FLOAT")
    _ffmpeg("-i", str(CLIP), "-ar", "8000", str(a / "rate8k.wav"))
    _ffmpeg("-i", str(CLIP), "-ar", "48000", str(a / "rate48k.wav"))
    _ffmpeg("-i", str(CLIP), "-ac", "2", str(a / "stereo.wav"))
    _ffmpeg("-i", str(CLIP), "-ac", "6", str(a / "six_channel.wav"))
    _ffmpeg("-i", str(CLIP), "-c:a", "libopus", str(a / "clip.opus"))
    _ffmpeg("-i", str(CLIP), "-c:a", "aac", str(a / "clip.m4a"))
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=32x32:d=3",
        "-i",
        str(CLIP),
        "-shortest",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        str(a / "video.mp4"),
    )
    _ffmpeg("-i", str(a / "video.mp4"), "-c", "copy", str(a / "video.mkv"))
    names = ["missing.wav", *sorted(p.name for p in a.iterdir())]
    rows = [
        {"sample_id": Path(n).stem + Path(n).suffix.replace(".", "_"), "audio": f"audio/{n}", "text": CLIP_TEXT}
        for n in names
    ]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = root / "results"
    from modellab.app import run_config
    from modellab.config.registry import compose_config

    cfg = compose_config(
        [
            "+model=dummy_asr",
            "task=asr",
            "dataset=librivox_golden_v1",
            f"dataset.root={root}",
            "dataset.name=bad_audio",
            "dataset.builder=null",
            f"results_dir={results}",
            "progress=false",
        ]
    )
    summary = run_config(cfg)
    con = connect(results)
    rows = {
        r[0]: (r[1], r[2], r[3])
        for r in con.sql("SELECT sample_id, error, hypothesis, duration_s FROM samples").fetchall()
    }
    return summary, rows, con


def _error(bad_audio_run, sample_id: str) -> str:
    error = bad_audio_run[1][sample_id][0]
    assert error, f"{sample_id} should have failed"
    return error


def _ok(bad_audio_run, sample_id: str) -> tuple:
    error, hyp, duration = bad_audio_run[1][sample_id]
    assert error is None, error
    return hyp, duration


# --- bad audio ------------------------------------------------------------------------------
def test_missing_file(bad_audio_run) -> None:
    err = _error(bad_audio_run, "missing_wav")
    assert "missing.wav" in err and "not found" in err


def test_zero_byte_file(bad_audio_run) -> None:
    err = _error(bad_audio_run, "empty_wav")
    assert "empty.wav" in err and "0 bytes" in err


def test_truncated_wav(bad_audio_run) -> None:
    err = _error(bad_audio_run, "truncated_wav")
    assert "truncated.wav" in err and "truncated WAV" in err


def test_truncated_mp3(bad_audio_run) -> None:
    err = _error(bad_audio_run, "truncated_mp3")
    assert "truncated.mp3" in err and "truncated" in err


def test_corrupt_flac(bad_audio_run) -> None:
    err = _error(bad_audio_run, "corrupt_flac")
    assert "corrupt.flac" in err and "cannot decode" in err


def test_text_file_named_wav(bad_audio_run) -> None:
    err = _error(bad_audio_run, "text_wav")
    assert "text.wav" in err and "cannot decode" in err


def test_silence_only_is_scored_not_failed(bad_audio_run) -> None:
    hyp, duration = _ok(bad_audio_run, "silence_wav")
    assert hyp == "" and duration == pytest.approx(2.0)


def test_one_sample_audio(bad_audio_run) -> None:
    err = _error(bad_audio_run, "one_sample_wav")
    assert "one_sample.wav" in err and "too short" in err


def test_nan_inf_samples(bad_audio_run) -> None:
    err = _error(bad_audio_run, "nan_inf_wav")
    assert "nan_inf.wav" in err and "NaN or infinite" in err


@pytest.mark.parametrize("sample_id", ["rate8k_wav", "rate48k_wav"])
def test_8k_and_48k_are_resampled(bad_audio_run, sample_id: str) -> None:
    hyp, duration = _ok(bad_audio_run, sample_id)
    assert duration == pytest.approx(2.99, abs=0.02) and hyp == CLIP_TEXT


@pytest.mark.parametrize("sample_id", ["stereo_wav", "six_channel_wav"])
def test_stereo_and_six_channel_are_downmixed(bad_audio_run, sample_id: str) -> None:
    hyp, duration = _ok(bad_audio_run, sample_id)
    assert duration == pytest.approx(2.99, abs=0.02) and hyp == CLIP_TEXT


@pytest.mark.parametrize("sample_id", ["clip_opus", "clip_m4a", "video_mp4", "video_mkv", "clip_mp3"])
def test_unusual_containers_decode(bad_audio_run, sample_id: str) -> None:
    _, duration = _ok(bad_audio_run, sample_id)
    assert duration == pytest.approx(3.0, abs=0.1)  # AAC priming adds a few ms


def test_run_continues_and_status_counts_failures(bad_audio_run) -> None:
    summary, rows, con = bad_audio_run
    n_failed = sum(1 for e, _, _ in rows.values() if e)
    assert n_failed == 8 and summary.n_failed == 8 and summary.status == "partial"
    status, n, failed, wer, wer_incl = con.sql(
        "SELECT status, n_samples, n_failed, wer, wer_incl_failed FROM runs"
    ).fetchall()[0]
    assert (status, n, failed) == ("partial", len(rows), 8)
    assert wer_incl > wer  # failures count as deletions there, never as perfect


def test_all_failed_run_is_marked_failed_not_perfect(run_cell, results_dir, tmp_path) -> None:
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"sample_id": "a", "audio": "nope.wav", "text": "x y"}) + "\n")
    summary = run_cell(
        "+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", f"dataset.root={tmp_path}", "dataset.builder=null"
    )
    assert summary.status == "failed" and summary.n_failed == 1
    row = connect(results_dir).sql("SELECT status, n_failed FROM runs").fetchall()[0]
    names = {r[0] for r in connect(results_dir).sql("SELECT name FROM metrics").fetchall()}
    assert row == ("failed", 1)
    assert "wer" not in names and "cer" not in names  # no score at all, certainly not 0 %
    assert connect(results_dir).sql("SELECT value FROM metrics WHERE name='wer_incl_failed'").fetchall() == [(1.0,)]


@pytest.mark.slow
def test_two_hour_file(run_cell, results_dir, tmp_path) -> None:
    sr = 16000
    seconds = 2 * 3600
    path = tmp_path / "long.wav"
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)).astype(np.float32)
    with soundfile.SoundFile(str(path), "w", sr, 1, subtype="PCM_16") as fh:
        for _ in range(seconds):
            fh.write(tone)
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"sample_id": "long", "audio": "long.wav"}) + "\n")
    summary = run_cell(
        "+model=dummy_asr",
        "task=asr",
        "dataset=asr_smoke_v1",
        f"dataset.root={tmp_path}",
        "dataset.builder=null",
        "warmup=false",
    )
    assert summary.status == "ok"
    duration = connect(results_dir).sql("SELECT duration_s FROM samples").fetchall()[0][0]
    assert duration == pytest.approx(seconds, abs=0.01)


# --- bad references and outputs ---------------------------------------------------------------
def test_empty_reference_is_excluded_with_a_count(run_cell, results_dir, tmp_path) -> None:
    shutil.copy(CLIP, tmp_path / "a.wav")
    rows = [
        {"sample_id": "a", "audio": "a.wav", "text": CLIP_TEXT},
        {"sample_id": "b", "audio": "a.wav", "text": " . "},
    ]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run_cell(
        "+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", f"dataset.root={tmp_path}", "dataset.builder=null"
    )
    assert summary.metrics["wer"] == 0.0 and summary.metrics["n_ref_excluded_empty"] == 1.0
    assert summary.metrics["ref_words"] == len(CLIP_TEXT.split())


def test_empty_hypothesis_counts_as_all_deletions(run_cell) -> None:
    summary = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "model.options.text=''")
    assert summary.metrics["wer"] == 1.0 and summary.metrics["deletion_rate"] == 1.0


@pytest.mark.parametrize(
    ("text", "basic_words"),
    [
        ("naïve café – Zürich", ["naïve", "café", "zürich"]),  # lower-cased, the dash dropped, accents kept
        ("مرحبا بالعالم هذا اختبار", ["مرحبا", "بالعالم", "هذا", "اختبار"]),  # Arabic letters are word characters
        ("שלום עולם זה מבחן", ["שלום", "עולם", "זה", "מבחן"]),  # so are Hebrew ones, order kept
        ("日本語のテキスト", ["日本語のテキスト"]),  # no spaces: one word
        ("emoji 🙂 text", ["emoji", "text"]),  # the emoji is a symbol, not a word
    ],
)
def test_non_ascii_and_right_to_left_text(text: str, basic_words: list[str]) -> None:
    from modellab.metrics.normalizers import NORMALIZERS
    from modellab.metrics.wer import word_errors

    for norm in NORMALIZERS.values():
        n = norm(text)
        assert isinstance(n, str)
        if n:
            assert word_errors(n, n).rate == 0.0
    basic = NORMALIZERS["basic"]
    assert basic(text).split() == basic_words  # words survive (not stripped as punctuation)
    # one word changed: exactly one substitution over the reference's words, whatever the script
    changed = " ".join([*basic_words[:-1], "x"])
    assert word_errors(basic(text), changed).substitutions == 1


def test_very_long_lines() -> None:
    from modellab.metrics.wer import word_errors

    ref = " ".join(f"w{i}" for i in range(20000))
    hyp = ref.replace("w5 ", "x5 ", 1)
    counts = word_errors(ref, hyp)
    assert counts.substitutions == 1 and counts.ref_len == 20000


def test_hallucination_loop_gate_fires(run_cell, results_dir) -> None:
    loop = " ".join(["thank you for watching"] * 8)
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", f"model.options.text='{loop}'")
    gates = connect(results_dir).sql("SELECT gate_repetition, gate_words_per_s, gates_passed FROM samples").fetchall()
    assert all(r == (False, False, False) for r in gates)


# --- bad config --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "valid"),
    [("+model=whisperr", "faster_whisper"), ("task=asrr", "asr"), ("dataset=librivoxx", "librivox_golden_v1")],
)
def test_unknown_names_list_the_valid_ones(override: str, valid: str) -> None:
    args = [override] if override.startswith("+model") else ["+model=dummy_asr", override]
    out = run_cli("modellab", *args)
    assert out.returncode != 0
    assert "Available options" in out.stderr and valid in out.stderr


def test_capability_is_refused_before_anything_loads(run_cell) -> None:
    from modellab.tasks.base import CapabilityError

    # The weights path does not exist: if anything tried to load, we would see WeightsNotFoundError instead.
    with pytest.raises(CapabilityError, match="cannot run task 'asr'"):
        run_cell(
            "+model=faster_whisper",
            "task=asr",
            "model.info.capabilities=[tts]",
            "model.weights.source=local",
            "model.weights.path=/nonexistent",
        )


def test_invalid_parameter_type_fails_at_compose_time() -> None:
    out = run_cli("modellab", "+model=faster_whisper", "task=asr", "model.options.beam_size=wide")
    assert out.returncode == 2
    assert "config error" in out.stderr and "beam_size" in out.stderr and "faster_whisper.yaml" in out.stderr


# --- bad manifests -------------------------------------------------------------------------------
def _manifest_dataset(root: Path, name: str = "manifest.jsonl"):
    from modellab.datasets.manifest import ManifestDataset

    return ManifestDataset(name="t", root=str(root), tasks=["asr"], manifest=name)


def test_malformed_jsonl_line_is_named(tmp_path) -> None:
    from modellab.datasets.base import DatasetError

    (tmp_path / "manifest.jsonl").write_text('{"sample_id": "a", "audio": "a.wav"}\n{"sample_id": "b", "audio": \n')
    with pytest.raises(DatasetError, match=r"manifest.jsonl:2: malformed JSON"):
        _manifest_dataset(tmp_path).samples()


def test_malformed_csv_row_is_named(tmp_path) -> None:
    from modellab.datasets.base import DatasetError

    (tmp_path / "m.csv").write_text("sample_id,audio,text,duration\na,a.wav,hi,1.0\nb,,hi,2.0\n")
    with pytest.raises(DatasetError, match=r"m.csv:3: missing required column 'audio'"):
        _manifest_dataset(tmp_path, "m.csv").samples()
    (tmp_path / "m.csv").write_text("sample_id,audio,text,duration\na,a.wav,hi,long\n")
    with pytest.raises(DatasetError, match=r"m.csv:2: duration/offset must be numbers"):
        _manifest_dataset(tmp_path, "m.csv").samples()


@pytest.mark.parametrize("path", ["../outside.wav", "/etc/passwd", "audio/../../x.wav"])
def test_paths_escaping_the_dataset_root_are_refused(tmp_path, path: str) -> None:
    from modellab.datasets.base import DatasetError

    (tmp_path / "manifest.jsonl").write_text(json.dumps({"sample_id": "a", "audio": path}) + "\n")
    with pytest.raises(DatasetError, match="escapes the dataset root"):
        _manifest_dataset(tmp_path).samples()


def test_duplicate_sample_ids_are_refused(tmp_path) -> None:
    from modellab.datasets.base import DatasetError

    rows = [{"sample_id": "a", "audio": "a.wav"}, {"sample_id": "a", "audio": "b.wav"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DatasetError, match="duplicate sample id 'a'"):
        _manifest_dataset(tmp_path).samples()


# --- faults ----------------------------------------------------------------------------------------
def test_results_are_written_atomically(run_cell, results_dir) -> None:
    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    leftovers = [p for p in results_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert {p.parent.name for p in results_dir.rglob("*.parquet")} == {"runs", "samples", "metrics"}


def test_sigkill_during_a_run_leaves_no_broken_parquet(results_dir) -> None:
    env = {**os.environ, "MODELLAB_RESULTS_DIR": str(results_dir)}
    # A finished run first, then a slow one that we kill mid-way.
    assert (
        run_cli(
            "modellab", "+model=dummy_asr", "task=asr", "dataset=cards_golden_v1", "progress=false", env=env
        ).returncode
        == 0
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modellab",
            "+model=dummy_asr",
            "task=asr",
            "dataset=librivox_golden_v1",
            "model.options.delay_s=0.5",
            "progress=false",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = results_dir / "journal"
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.stat().st_size for p in journal.glob("*.jsonl")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = connect(results_dir)
    assert con.sql("SELECT count(*) FROM runs").fetchall() == [(1,)]
    assert con.sql("SELECT count(*) FROM samples").fetchall() == [(5,)]  # only the finished run's rows
    assert con.sql("SELECT count(*) FROM metrics").fetchall()[0][0] > 0
    # The killed run's finished samples are kept in its journal, for resume.
    lines = next(journal.glob("*.jsonl")).read_text().splitlines()
    assert lines and json.loads(lines[0])["output"]["text"] == CLIP_TEXT


def test_concurrent_sweeps_do_not_lose_or_corrupt_rows(results_dir) -> None:
    env = {**os.environ, "MODELLAB_RESULTS_DIR": str(results_dir)}
    cmds = [
        [
            sys.executable,
            "-m",
            "modellab",
            "-m",
            "+model=dummy_asr",
            "task=asr",
            "dataset=cards_golden_v1,librivox_golden_v1",
            f"seed={seed}",
            "force=true",
            "progress=false",
        ]
        for seed in (1, 2, 3)
    ]
    procs = [subprocess.Popen(c, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    con = connect(results_dir)
    assert con.sql("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchall() == [(6, 6)]
    assert con.sql("SELECT count(*) FROM samples").fetchall() == [(3 * (5 + 5),)]


def test_full_disk_gives_a_clear_error_and_loses_nothing(run_cell, results_dir, monkeypatch) -> None:
    import pyarrow.parquet as pq

    from modellab.results.store import ResultsWriteError

    run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    before = sorted(p.name for p in results_dir.rglob("*.parquet"))

    def no_space(table, where, *args, **kwargs):
        Path(where).write_bytes(b"PAR1 partial")  # a half-written temp file, as a full disk leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", no_space)
    with pytest.raises(ResultsWriteError, match=r"cannot write .*\.parquet: No space left on device"):
        run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    assert sorted(p.name for p in results_dir.rglob("*.parquet")) == before
    assert [p for p in results_dir.rglob("*.tmp")] == []
    assert connect(results_dir).sql("SELECT count(*) FROM runs").fetchall() == [(1,)]


def test_git_dirty_ignores_the_pipeline_lock_but_not_code(tmp_path: Path) -> None:
    from modellab.run.provenance import git_state

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    sha, dirty = git_state(tmp_path)
    assert len(sha) == 40 and not dirty
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")  # dvc repro updated its lock
    git_state.cache_clear()
    assert git_state(tmp_path) == (sha, False)
    (tmp_path / "code.py").write_text("x = 2\n")
    git_state.cache_clear()
    assert git_state(tmp_path) == (sha, True)
