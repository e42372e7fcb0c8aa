"""benchmarks/bench_power.py: the paired interval arithmetic on hand-made per-prompt errors."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_power import half_width, subset_half_widths


def test_identical_runs_have_a_zero_width_interval() -> None:
    rows = np.array([[1, 1, 5], [0, 0, 4], [2, 2, 6]], dtype=float)  # same errors in both runs
    assert half_width(rows, np.random.default_rng(0), 200) == (0.0, 0.0, 0.0)
    assert np.all(subset_half_widths(rows, 2, 5, 100, 0) == 0.0)


def test_a_constant_per_word_difference_gives_that_delta_in_every_resample() -> None:
    # candidate makes 1 more error per 10 reference words on every prompt: Δ = +10 points in every resample
    rows = np.array([[0, 1, 10], [2, 4, 20], [1, 4, 30]], dtype=float)
    delta, low, high = half_width(rows, np.random.default_rng(1), 500)
    assert delta == 10.0 and low == high == 10.0


def test_one_outlier_prompt_widens_the_interval() -> None:
    # 20 prompts of 10 words where both runs agree, plus one where the candidate inserts 30 words
    rows = np.array([[1, 1, 10]] * 20 + [[0, 30, 10]], dtype=float)
    delta, low, high = half_width(rows, np.random.default_rng(0), 2000)
    assert delta == 100 * 30 / 210  # 14.29 points
    assert low == 0.0 and high > 25  # resamples without the outlier give 0; with two copies, 60/210 = 28.6
