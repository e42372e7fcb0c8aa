"""``python -m modellab export``: a run in sclite's, md-eval's and the Open ASR Leaderboard's formats,
with ids and texts escaped or refused where they would break the format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modellab.analysis.export import ExportError, export_run, format_id, one_line
from modellab.analysis.rundata import RunData
from tests.conftest import run_cli


def _row(sample_id: str, reference: str | None, hypothesis: str | None, **extra: Any) -> dict[str, Any]:
    output = extra.pop("output", {"text": hypothesis, "words": []})
    return {
        "sample_id": sample_id,
        "audio_path": f"/data/{sample_id}.wav",
        "duration_s": 2.5,
        "compute_s": 0.125,
        "error": None,
        "reference": reference,
        "hypothesis": hypothesis,
        "output": json.dumps(output),
        **extra,
    }


def _run(*rows: dict[str, Any], task: str = "asr") -> RunData:
    return RunData("run-1", {"model": "m", "task": task, "dataset": "d"}, {}, {}, list(rows))


def test_ids_lose_whitespace_and_parentheses() -> None:
    assert format_id("utt one(2)") == "utt_one_2_"
    assert format_id("a\tb\nc") == "a_b_c"
    assert one_line("two\nlines\r\n and\ttabs ") == "two lines and tabs"


def test_trn_hypotheses_and_references() -> None:
    run = _run(_row("spk-1", "Hello\nWorld", "hello  world"), _row("spk 2", "Mr. Smith", "mister smith"))
    assert export_run(run, "trn").text == "hello world (spk-1)\nmister smith (spk_2)\n"
    ref = export_run(run, "trn", normalizer="whisper_en", reference=True)
    assert ref.text == "hello world (spk-1)\nmister smith (spk_2)\n" and ref.lines == 2


def test_trn_refuses_sclite_marks_unless_normalised() -> None:
    run = _run(_row("a", "hi there", "(laughs) hi there"))
    with pytest.raises(ExportError, match=r"sample 'a': the hypothesis holds \( \).*--normalizer basic"):
        export_run(run, "trn")
    assert export_run(run, "trn", normalizer="basic").text == "laughs hi there (a)\n"


def test_ids_that_collide_once_escaped_are_refused() -> None:
    run = _run(_row("a b", "x", "x"), _row("a_b", "y", "y"))
    with pytest.raises(ExportError, match="samples 'a b' and 'a_b' both become id 'a_b'"):
        export_run(run, "trn")


def test_failed_samples_are_left_out_or_written_empty() -> None:
    failed = _row("b", "ten of clubs", None, error="b.wav: cannot decode audio", output=None)
    run = _run(_row("a", "one", "one"), failed)
    left_out = export_run(run, "trn")
    assert left_out.text == "one (a)\n" and "1 failed sample(s) left out" in left_out.notes[0]
    assert export_run(run, "trn", include_failed=True).text == "one (a)\n(b)\n"


def test_stm_is_one_reference_segment_per_sample() -> None:
    run = _run(_row("s1", "Hello, World", "x"), _row("s2", None, "y"))
    out = export_run(run, "stm", normalizer="basic")
    body = [line for line in out.text.splitlines() if not line.startswith(";;")]
    assert body == ["s1 1 s1 0.000 2.500 hello world"]
    assert "1 sample(s) without a reference left out" in out.notes
    with pytest.raises(ExportError, match="stm reads as a label or a comment"):
        export_run(_run(_row("s1", "<noise> hi", "x")), "stm")


def test_ctm_needs_word_times_and_splits_normalised_words() -> None:
    words = [
        {"word": " Hello,", "start": 0.5, "end": 1.0, "probability": 0.9},
        {"word": " 2", "start": 1.0, "end": 1.5, "probability": None},
        {"word": " ...", "start": 1.5, "end": 1.75, "probability": 0.5},
    ]
    run = _run(_row("u", "hello two", "Hello, 2 ...", output={"text": "Hello, 2 ...", "words": words}))
    # basic: "..." normalises to nothing and is dropped; no probability, no confidence column.
    assert export_run(run, "ctm", normalizer="basic").text == "u 1 0.500 0.500 hello 0.9000\nu 1 1.000 0.500 2\n"
    split = [{"word": "ill-disposed", "start": 2.0, "end": 3.0, "probability": 0.5}]
    run = _run(_row("u", "x", "ill-disposed", output={"text": "ill-disposed", "words": split}))
    assert (
        export_run(run, "ctm", normalizer="basic").text
        == "u 1 2.000 0.500 ill 0.5000\nu 1 2.500 0.500 disposed 0.5000\n"
    )
    with pytest.raises(ExportError, match="sample 'v' has no word times, which ctm needs"):
        export_run(_run(_row("v", "x", "some text")), "ctm")


def test_rttm_and_uem_of_a_diarization_run() -> None:
    turns = [{"start": 1.25, "end": 2.0, "speaker": "SPEAKER 01"}, {"start": 0.0, "end": 1.0, "speaker": "B"}]
    run = _run(_row("call (a)", None, None, output={"turns": turns}), task="diarization")
    assert export_run(run, "rttm").text == (
        "SPEAKER call_a_ 1 0.000 1.000 <NA> <NA> B <NA> <NA>\n"
        "SPEAKER call_a_ 1 1.250 0.750 <NA> <NA> SPEAKER_01 <NA> <NA>\n"
    )
    assert export_run(run, "uem").text == "call_a_ 1 0.000 2.500\n"
    with pytest.raises(ExportError, match="sample 'x' has no turns"):
        export_run(_run(_row("x", "a", "a")), "rttm")


def test_jsonl_is_the_open_asr_leaderboard_manifest() -> None:
    run = _run(_row("a", 'He said "hi"\nthen left', "he said hi then left"))
    lines = export_run(run, "jsonl").text.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "audio_filepath": "/data/a.wav",
        "duration": 2.5,
        "time": 0.125,
        "text": 'He said "hi" then left',
        "pred_text": "he said hi then left",
    }


def test_export_cli_on_a_real_run(run_cell, results_dir, tmp_path) -> None:
    summary = run_cell("+model=dummy_asr", "task=asr", "dataset=cards_golden_v1")
    env = {"MODELLAB_RESULTS_DIR": str(results_dir)}
    out_file = tmp_path / "hyp.trn"
    out = run_cli("modellab", "export", summary.run_id, "--format", "trn", "-o", str(out_file), env=env)
    assert out.returncode == 0, out.stderr
    lines = out_file.read_text().splitlines()
    assert lines[0] == "he was not an ill disposed young man (cards-001)" and len(lines) == 5
    ref = run_cli("modellab", "export", "dummy_asr", "--format", "trn", "--reference", env=env)
    assert ref.returncode == 0 and ref.stdout.splitlines()[0] == "ten of clubs (cards-001)"
    no_words = run_cli("modellab", "export", summary.run_id, "--format", "ctm", env=env)
    assert no_words.returncode == 2 and "no word times" in no_words.stderr
    missing = run_cli("modellab", "export", "nope", "--format", "trn", env=env)
    assert missing.returncode == 2 and "nope" in missing.stderr
    bad_norm = run_cli("modellab", "export", summary.run_id, "--format", "trn", "--normalizer", "shouty", env=env)
    assert bad_norm.returncode == 2 and "unknown normaliser 'shouty'" in bad_norm.stderr
