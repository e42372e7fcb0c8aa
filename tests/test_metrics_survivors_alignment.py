"""Tests that kill the mutants of ``modellab/metrics/alignment.py`` the older tests let survive (see
docs/testing.md, "Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import pytest

from modellab.metrics.alignment import TimedUnit, align_units, summarize_alignment
from modellab.metrics.normalizers import get_normalizer

BASIC = get_normalizer("basic")


def test_a_run_of_hits_after_a_substitution_maps_token_by_token() -> None:
    ref = [TimedUnit("a", 0.0, 1.0), TimedUnit("b", 1.0, 2.0), TimedUnit("c", 2.0, 3.0)]
    hyp = [TimedUnit("x", 0.0, 1.0), TimedUnit("b", 1.25, 2.25), TimedUnit("c", 2.0, 2.5)]
    result = align_units(ref, hyp, BASIC)
    # a -> x is a substitution; b and c are hits at reference positions 1 and 2 (hypothesis positions 1 and 2)
    assert (result.ref_tokens, result.matched_tokens) == (3, 2)
    assert result.start_errors == [0.25, 0.0]  # b: 1.25 - 1.0, c: 2.0 - 2.0
    assert result.end_errors == [0.25, -0.5]  # b: 2.25 - 2.0, c: 2.5 - 3.0


def test_a_reference_unit_without_tokens_is_skipped_not_the_end() -> None:
    # "..." normalises to nothing; the unit after it still gets its boundary errors
    ref = [TimedUnit("a", 0.0, 1.0), TimedUnit("...", 1.0, 1.5), TimedUnit("b", 1.5, 2.0)]
    hyp = [TimedUnit("a", 0.0, 1.0), TimedUnit("b", 1.75, 2.0)]
    result = align_units(ref, hyp, BASIC)
    assert (result.ref_tokens, result.matched_tokens) == (2, 2)
    assert result.start_errors == [0.0, 0.25]
    assert result.end_errors == [0.0, 0.0]


def test_nothing_to_summarise_gives_no_values_and_no_division_by_zero() -> None:
    s = summarize_alignment([], [50])
    assert s == {
        "start_error_mean_ms": None,
        "start_error_median_ms": None,
        "end_error_mean_ms": None,
        "end_error_median_ms": None,
        "start_bias_ms": None,
        "end_bias_ms": None,
        "within_50ms": None,
        "word_coverage": None,
        "boundaries": 0.0,
    }
    empty = align_units([], [], BASIC)
    assert empty.coverage is None
    assert summarize_alignment([empty], [50])["word_coverage"] is None


def test_an_error_equal_to_the_tolerance_plus_its_epsilon_is_within() -> None:
    edge = 50 / 1000.0 + 1e-9  # the largest error the 50 ms tolerance accepts (the comparison is inclusive)
    result = align_units([TimedUnit("a", 0.0, 1.0)], [TimedUnit("a", edge, 1.0)], BASIC)
    assert result.start_errors == [edge] and result.end_errors == [0.0]
    assert summarize_alignment([result], [50])["within_50ms"] == pytest.approx(1.0)
