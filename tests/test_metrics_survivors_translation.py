"""Tests that kill the mutants of ``modellab/metrics/translation.py`` the older tests let survive (see
docs/testing.md, "Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from modellab.metrics.translation import TranslationScorer

# "a,b c d e" against "a , b c d e": under 13a the comma is split off and both are the same 6 tokens (BLEU 100).
# Under tokenize=none the hypothesis is 4 tokens and the reference 6: unigram precision 3/4 (c d e), bigrams 2/3,
# trigrams 1/2, 4-grams 0/1 smoothed by "exp" to 1/2; brevity penalty exp(1 - 6/4) = exp(-0.5):
# BLEU = 100 * exp(-0.5) * (3/4 * 2/3 * 1/2 * 1/2) ** (1/4) = 100 * exp(-0.5) * 0.125 ** 0.25 = 36.06.
HYP, REF = "a,b c d e", "a , b c d e"
NO_TOKENISER_BLEU = 100 * math.exp(-0.5) * 0.125**0.25


def test_the_tokeniser_is_used_by_corpus_and_sentence_bleu() -> None:
    plain = TranslationScorer(tokenize="none", lowercase=False, chrf_word_order=0)
    assert plain.corpus([HYP], [REF])["bleu"] == pytest.approx(NO_TOKENISER_BLEU)
    assert plain.sentence(HYP, REF)["bleu"] == pytest.approx(NO_TOKENISER_BLEU)
    split = TranslationScorer(tokenize="13a", lowercase=False, chrf_word_order=0)
    assert split.sentence(HYP, REF)["bleu"] == pytest.approx(100.0)


def test_lowercase_applies_to_sentence_bleu_and_to_chrf() -> None:
    lower = TranslationScorer(tokenize="13a", lowercase=True, chrf_word_order=0)
    assert lower.sentence("The Cat sat down", "the cat sat down") == {
        "bleu": pytest.approx(100.0),
        "chrf": pytest.approx(100.0),
    }
    assert lower.corpus(["The Cat sat down"], ["the cat sat down"])["chrf"] == pytest.approx(100.0)
    cased = TranslationScorer(tokenize="13a", lowercase=False, chrf_word_order=0)
    assert cased.corpus(["The Cat sat down"], ["the cat sat down"])["chrf"] < 100.0


def test_sentence_bleu_uses_the_effective_order_of_short_sentences() -> None:
    # 3 words have no 4-gram: with the effective order only orders 1-3 count, all 100 %, so BLEU is 100
    scorer = TranslationScorer(tokenize="13a", lowercase=False, chrf_word_order=0)
    assert scorer.sentence("a b c", "a b c")["bleu"] == pytest.approx(100.0)


def test_no_sentences_is_a_clear_error() -> None:
    scorer = TranslationScorer(tokenize="13a", lowercase=False, chrf_word_order=0)
    with pytest.raises(ValueError, match="^no sentences to score$"):
        scorer.corpus([], [])
