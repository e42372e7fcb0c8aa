"""Short-file throughput settings of the faster-whisper adapter (docs/performance.md):

- ``files_per_batch`` > 1: several files in one encoder and one beam-search call, the same
  transcripts as one file at a time, recorded on the run (``inputs_per_call``, ``model_params``,
  the batched timing scope);
- a file whose sequential decoding would not stop after its first window is decoded on its own;
- ``heap_reuse_mb``: glibc keeps freed large blocks in the heap, so a runtime that allocates the
  same large buffers on every call stops page-faulting them in again (exact; process-wide);
- ``fit_window`` (labelled as changing accuracy): the encoder window of a batch is its longest
  file plus a margin, rounded up to whole seconds, never above Whisper's 30 s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from modellab.app import build_cell
from modellab.config.registry import compose_config
from modellab.models.faster_whisper import FasterWhisperModel, _BatchDecoder, _FirstWindow
from modellab.results.views import connect
from tests.conftest import run_cli


def _model(*overrides: str) -> FasterWhisperModel:
    model = build_cell(compose_config(["+model=faster_whisper", "task=asr", *overrides])).model
    assert isinstance(model, FasterWhisperModel)
    return model


def test_files_per_batch_sets_how_many_inputs_the_runner_hands_over() -> None:
    assert _model("+model.options.files_per_batch=8").inputs_per_call == 8
    assert _model("+model.options.files_per_batch=8").batches_inputs
    plain = _model()
    assert plain.inputs_per_call == 1 and not plain.batches_inputs  # the default: one file per call
    # batch_size keeps its meaning (chunks of one file, faster-whisper's pipeline) and its column
    chunked = _model("model.options.batch_size=4")
    assert chunked.batch_size == 4 and chunked.inputs_per_call == 1


def _decoder(content_frames: int, margin_s: float = 1.0, fit: bool = True) -> tuple[_BatchDecoder, _FirstWindow]:
    """A decoder around stand-ins (no weights): 100 mel frames a second, a 3000-frame window."""
    adapter: Any = SimpleNamespace(options=SimpleNamespace(fit_window=fit, fit_window_margin_s=margin_s))
    adapter.model = SimpleNamespace(feature_extractor=SimpleNamespace(nb_max_frames=3000), frames_per_second=100)
    decoder = _BatchDecoder(adapter, options=None, tokenizer=None, language="en")
    return decoder, _FirstWindow(features=None, content_frames=content_frames)


def test_fit_window_is_the_longest_file_plus_the_margin_in_whole_seconds() -> None:
    decoder, window = _decoder(content_frames=217)  # 2.17 s + 1 s margin = 317 frames -> 400
    other = _FirstWindow(features=None, content_frames=95)
    assert decoder.frames([window, other]) == 400
    decoder, window = _decoder(content_frames=217, margin_s=10.0)  # 217 + 1000 -> 1300
    assert decoder.frames([window]) == 1300
    decoder, window = _decoder(content_frames=2950, margin_s=1.0)  # 3050 -> capped at Whisper's 3000
    assert decoder.frames([window]) == 3000
    decoder, window = _decoder(content_frames=217, fit=False)  # off: always the full window
    assert decoder.frames([window]) == 3000


def _runs(results: Path) -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in connect(results)
        .execute(
            "SELECT run_id, inputs_per_call, timing_scope, model_params->>'$.files_per_batch', "
            "model_params->>'$.fit_window' FROM runs"
        )
        .fetchall()
    }


def _texts(results: Path, run_id: str) -> list[tuple[str, str]]:
    sql = "SELECT sample_id, hypothesis FROM samples WHERE run_id = ? ORDER BY sample_id"
    return connect(results).execute(sql, [run_id]).fetchall()


@pytest.mark.slow
def test_files_per_batch_gives_the_same_transcripts_and_is_recorded(run_cell: Any, results_dir: Path) -> None:
    one = run_cell("+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1")
    batched = run_cell(
        "+model=faster_whisper", "task=asr", "dataset=librivox_golden_v1", "+model.options.files_per_batch=3"
    )
    assert batched.status == one.status == "ok"
    texts = _texts(results_dir, one.run_id)
    assert len(texts) == 5 and all(t for _, t in texts)
    assert _texts(results_dir, batched.run_id) == texts  # exact: word for word, every file
    runs = _runs(results_dir)
    assert runs[one.run_id] == (1, "model_call", "1", "false")
    assert runs[batched.run_id] == (3, "model_call_batched", "3", "false")
    # heap reuse is process-wide: its own process, so it does not outlive this test
    done = run_cli(
        "modellab",
        "+model=faster_whisper",
        "task=asr",
        "dataset=librivox_golden_v1",
        "+model.options.heap_reuse_mb=256",
        f"results_dir={results_dir}",
        "progress=false",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    sql = "SELECT run_id FROM runs WHERE model_params->>'$.heap_reuse_mb' = '256'"
    ((reused,),) = connect(results_dir).execute(sql).fetchall()
    assert _texts(results_dir, reused) == texts


_PAGE_FAULTS = """
import ctypes, resource, sys
from modellab.models.base import keep_freed_memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "keep":
    assert keep_freed_memory(256)
def block():  # 64 MB from malloc, every page written, freed (as a runtime's scratch buffer)
    p = libc.malloc(2**26)
    ctypes.memset(p, 1, 2**26)
    libc.free(p)
block()  # the first one is faulted in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    block()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_heap_reuse_stops_page_faults_of_large_blocks_allocated_again_and_again() -> None:
    def faults(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _PAGE_FAULTS, mode], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return int(done.stdout.strip())

    # 64 MB = 16,384 pages of 4 KB: mapped anew and faulted in on each of the 5 rounds by default
    assert faults("default") >= 5 * 16_384 * 0.9
    assert faults("keep") < 16_384 * 0.1  # kept in the heap after the first round: almost none


class _Tokenizer:
    """Timestamp tokens from 1000 (0.00 s, 0.02 s a step); text tokens below, one letter each."""

    timestamp_begin = 1000

    def decode(self, tokens: list[int]) -> str:
        return "".join(chr(ord("a") + t) for t in tokens if t < self.timestamp_begin)


@pytest.mark.slow
def test_a_file_that_would_seek_on_is_left_to_sequential_decoding() -> None:
    model = _model("+model.options.files_per_batch=2")
    cell = build_cell(compose_config(["+model=faster_whisper", "task=asr"]))
    model.setup(cell.device)
    decoder = model._batch_decoder()
    assert decoder is not None
    decoder.tokenizer = _Tokenizer()
    window = _FirstWindow(features=None, content_frames=300, frames=3000)  # 3 s of audio in a 30 s window

    def result(tokens: list[int]) -> SimpleNamespace:
        return SimpleNamespace(sequences_ids=[tokens], scores=[-0.1], no_speech_prob=0.0)

    # <0.00> "ab" <1.00><1.00> "c" <2.00>: ends on a single timestamp -> done, two segments
    done = decoder.finish(result([1000, 0, 1, 1050, 1050, 2, 1100]), window)
    assert done is not None
    assert done.text == "abc" and [(s["start"], s["end"]) for s in done.segments] == [(0.0, 1.0), (1.0, 2.0)]
    # <0.00> "ab" <1.00><1.00>: two timestamps at the end -> sequential seeks to 1.00 s (100 frames
    # < 300) and decodes the rest again, so the batch hands this file back
    assert decoder.finish(result([1000, 0, 1, 1050, 1050]), window) is None
    # a confident no-speech result is an empty transcript, as sequential decoding skips it
    silent = SimpleNamespace(sequences_ids=[[1000, 0, 1050]], scores=[-3.0], no_speech_prob=0.9)
    empty = decoder.finish(silent, window)
    assert empty is not None and empty.text == "" and empty.segments == []
