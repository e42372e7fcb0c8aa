"""WER/CER against hand-computed values; pooled vs mean of per-sample rates."""

from __future__ import annotations

import math

import pytest

from modellab.metrics.normalizers import get_normalizer
from modellab.metrics.wer import char_errors, pooled, word_errors


def test_wer_counts_by_hand() -> None:
    # ref: the cat sat on the mat (6) ; hyp: the cat sit on mat mat
    # the=the cat=cat sat->sit (S) on=on the->mat (S) mat=mat?  alignment: S=1 (sat/sit), D=1 (the), I=1 (mat)?
    c = word_errors("the cat sat on the mat", "the cat sit on mat")
    assert (c.substitutions, c.deletions, c.insertions) == (1, 1, 0)
    assert c.rate == pytest.approx(2 / 6)


def test_insertions_count() -> None:
    c = word_errors("hello world", "hello big world")
    assert (c.substitutions, c.deletions, c.insertions, c.hits) == (0, 0, 1, 2)
    assert c.rate == pytest.approx(0.5)


def test_pooled_is_not_the_mean() -> None:
    a = word_errors("a b c d e f g h i j", "a b c d e f g h i j")  # 0/10
    b = word_errors("x", "y")  # 1/1
    assert pooled([a, b]).rate == pytest.approx(1 / 11)
    assert (a.rate + b.rate) / 2 == pytest.approx(0.5)


def test_empty_reference_is_nan_never_division_by_zero() -> None:
    c = word_errors("", "something")
    assert math.isnan(c.rate)
    assert c.insertions == 1


def test_empty_hypothesis_is_all_deletions() -> None:
    c = word_errors("one two three", "")
    assert (c.deletions, c.rate) == (3, 1.0)


def test_cer_by_hand() -> None:
    c = char_errors("abcd", "abed")
    assert c.substitutions == 1 and c.ref_len == 4 and c.rate == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("none", "  Hello,   World! ", "Hello, World!"),
        ("basic", "Hello, World! It's 5 o'clock.", "hello world it's 5 o'clock"),
        ("whisper_en", "Mr. Smith colour", "mister smith color"),
    ],
)
def test_normalizers(name: str, text: str, expected: str) -> None:
    assert get_normalizer(name)(text) == expected


def test_unknown_normalizer_lists_valid() -> None:
    with pytest.raises(ValueError, match="basic"):
        get_normalizer("nope")


def test_a_hypothesis_of_only_spaces_is_empty_for_cer_and_wer() -> None:
    # jiwer strips the strings, so " " is no character at all: "ab" -> " " is 2 deletions, as "ab" -> ""
    c = char_errors("ab", " ")
    assert (c.substitutions, c.deletions, c.insertions, c.ref_len) == (0, 2, 0, 2)
    w = word_errors("a b", " ")
    assert (w.substitutions, w.deletions, w.ref_len) == (0, 2, 2)


def test_pooling_keeps_insertions_against_an_empty_reference_and_sums_hits() -> None:
    empty_ref = word_errors("", "x y")  # 2 insertions, 0 reference words
    perfect = word_errors("a b", "a b")  # 2 hits
    total = pooled([empty_ref, perfect])
    assert (total.insertions, total.hits, total.ref_len) == (2, 2, 2)
    assert total.rate == pytest.approx(1.0)  # 2 errors over 2 reference words
