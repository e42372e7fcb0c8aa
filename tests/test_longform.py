"""Long-form windows: cuts land in silence, every sample is covered exactly once, the model sees
one window at a time, and the joined transcript has its timestamps shifted back."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.tasks.longform import LongFormOptions, transcribe_in_windows, window_bounds
from modellab.types import Audio, Transcript, Word

SR = 16_000


def _speech_with_pauses(seconds: list[float], pause_s: float = 0.4) -> tuple[np.ndarray, list[int]]:
    """Tone bursts separated by digital silence; returns the samples and where each pause starts."""
    rng = np.random.default_rng(0)
    parts, pauses, pos = [], [], 0
    for s in seconds:
        burst = (0.3 * rng.standard_normal(int(s * SR))).astype(np.float32)
        parts += [burst, np.zeros(int(pause_s * SR), np.float32)]
        pos += len(burst)
        pauses.append(pos)
        pos += int(pause_s * SR)
    return np.concatenate(parts), pauses


def test_windows_cover_everything_once_and_cut_in_silence() -> None:
    samples, pauses = _speech_with_pauses([3.0, 2.5, 3.5, 2.0, 3.0, 3.5, 2.5, 3.0, 2.0, 3.0])
    bounds = window_bounds(samples, SR, window_s=10.0, search_s=4.0)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(samples)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # pairwise; contiguous, no overlap
    assert all(end - start <= 10 * SR for start, end in bounds)
    for _, cut in bounds[:-1]:
        assert np.all(samples[cut - 400 : cut + 400] == 0.0), f"cut at {cut / SR:.2f}s is not in a pause"
    assert window_bounds(samples[: 5 * SR], SR, 10.0, 4.0) == [(0, 5 * SR)]
    with pytest.raises(ValueError, match="window_s"):
        window_bounds(samples, SR, 0.0, 4.0)


class _Recorder:
    """Says how long each window is, with one segment and one word at its start."""

    def __init__(self) -> None:
        self.lengths: list[float] = []

    def predict(self, audio: Audio) -> Transcript:
        self.lengths.append(audio.duration_s)
        d = round(audio.duration_s, 2)
        return Transcript(
            text=f"w{len(self.lengths)}",
            segments=[{"start": 0.0, "end": d, "text": f"w{len(self.lengths)}"}],
            words=[Word(f"w{len(self.lengths)}", 0.0, 0.5, 0.9)],
            language="en",
        )


def test_transcripts_of_windows_are_joined_on_the_input_timeline() -> None:
    samples, _ = _speech_with_pauses([3.0, 2.5, 3.5, 2.0, 3.0, 3.5, 2.5, 3.0, 2.0, 3.0])
    audio = Audio(samples, SR)
    model = _Recorder()
    out = transcribe_in_windows(model, audio, LongFormOptions(window_s=10.0, search_s=4.0))
    n = len(model.lengths)
    assert n == len(window_bounds(samples, SR, 10.0, 4.0)) and n >= 4
    assert max(model.lengths) <= 10.0 and sum(model.lengths) == pytest.approx(audio.duration_s)
    assert out.text == " ".join(f"w{i}" for i in range(1, n + 1))
    starts = [s["start"] for s in out.segments]
    assert starts[0] == 0.0 and starts == sorted(starts)
    assert out.segments[-1]["end"] == pytest.approx(audio.duration_s, abs=0.01)
    assert [w.start for w in out.words] == pytest.approx(starts)

    whole = _Recorder()  # window_s null: one call with everything
    transcribe_in_windows(whole, audio, LongFormOptions(window_s=None, search_s=4.0))
    assert whole.lengths == [pytest.approx(audio.duration_s)]


def test_window_size_is_a_sweepable_task_option(run_cell) -> None:
    """Through the real config: the option composes, validates and changes the cell."""
    plain = run_cell("+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1")
    windowed = run_cell(
        "+model=dummy_asr", "task=asr", "dataset=librivox_golden_v1", "task.options.long_form.window_s=2"
    )
    assert windowed.run_id != plain.run_id and not windowed.cached
    # librivox clips are 2.4-7.1 s: the dummy says its sentence once per window, so more words.
    assert windowed.metrics["wer"] > plain.metrics["wer"]
