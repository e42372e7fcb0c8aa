"""The CTC forced aligner: Viterbi paths by hand, and a tiny random wav2vec 2.0 checkpoint end to end.

The checkpoint is random, so its timings are noise: the tests assert structure (every reference
word timed, in order, inside the audio), never accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.device import Device
from modellab.models.ctc_aligner import ctc_forced_align, greedy_spans
from modellab.results.views import connect
from modellab.types import Audio

BLANK, A, B = 0, 1, 2


def log_probs(rows: list[list[float]]) -> np.ndarray:
    p = np.asarray(rows, dtype=np.float64)
    return np.log(p / p.sum(axis=1, keepdims=True))


def test_viterbi_path_hand_computed() -> None:
    # frames favour A, A, blank, B, B, B: the path spells "AB" as A A _ B B B
    lp = log_probs([[1, 8, 1], [1, 8, 1], [8, 1, 1], [1, 1, 8], [1, 1, 8], [1, 1, 8]])
    assert ctc_forced_align(lp, [A, B], BLANK) == [(0, 2), (3, 6)]


def test_forced_path_follows_the_transcript_not_the_argmax() -> None:
    # every frame prefers B, but the transcript is "A": the best path that spells it puts A on one frame
    # (frame 1, where A is least unlikely) and blanks elsewhere.
    lp = log_probs([[2, 1, 7], [2, 3, 5], [2, 1, 7]])
    assert ctc_forced_align(lp, [A], BLANK) == [(1, 2)]


def test_repeated_labels_need_a_blank_between_them() -> None:
    lp = log_probs([[1, 8, 1], [1, 8, 1], [1, 8, 1]])
    assert ctc_forced_align(lp, [A, A], BLANK) == [(0, 1), (2, 3)]  # A _ A: the blank is forced
    with pytest.raises(ValueError, match="2 characters to 2 frames"):
        ctc_forced_align(lp[:2], [A, A], BLANK)


def test_greedy_spans_collapse_repeats_and_drop_blanks() -> None:
    ids = np.array([0, 1, 1, 0, 2, 2, 2, 0, 1])
    assert greedy_spans(ids, BLANK) == [(1, 1, 3), (2, 4, 7), (1, 8, 9)]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from modellab.tools.tiny import tiny_wav2vec2

    return tiny_wav2vec2(tmp_path_factory.mktemp("w2v") / "tiny")


@pytest.mark.slow
def test_tiny_checkpoint_aligns_every_reference_word(tiny_checkpoint: Path) -> None:
    model = load_component(
        "model", "wav2vec2_aligner", ["model.weights.source=local", f"model.weights.path={tiny_checkpoint}"]
    )
    model.setup(Device())
    rng = np.random.default_rng(0)
    audio = Audio((0.1 * rng.standard_normal(16000)).astype(np.float32))
    out = model.align(audio, "Hello world, again! 42")
    # "42" has no character in the vocabulary: it cannot be timed and is left out
    assert [w.word for w in out.words] == ["Hello", "world,", "again!"]
    previous_end = 0.0
    for word in out.words:
        assert previous_end <= word.start < word.end <= 1.0 + 1e-6
        assert 0.0 < word.probability <= 1.0
        previous_end = word.end
    greedy = model.predict(audio)
    assert isinstance(greedy.text, str) and all(w.start < w.end for w in greedy.words)


@pytest.mark.slow
def test_alignment_task_gives_the_aligner_the_reference(run_cell, results_dir, tiny_checkpoint: Path) -> None:
    summary = run_cell(
        "+model=wav2vec2_aligner",
        "task=alignment",
        "model.weights.source=local",
        f"model.weights.path={tiny_checkpoint}",
        "+dataset.limit=1",
    )
    assert summary.status == "ok"
    coverage, boundaries = connect(results_dir).sql("SELECT word_coverage, boundaries FROM runs").fetchall()[0]
    # forced alignment times every reference word, whatever the (random) acoustic model hears
    assert coverage == 1.0 and boundaries == 2 * 9  # "The quick brown fox jumps over the lazy dog"
