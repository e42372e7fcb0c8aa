"""Translation quality with sacrebleu: corpus BLEU and chrF (0-100), per-sentence scores, signatures.

Corpus scores pool n-gram statistics over all sentences (never a mean of sentence scores).
Sentence BLEU uses sacrebleu's ``exp`` smoothing as the corpus score does; it is a per-sample
diagnostic, noisy on short sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TranslationScorer"]


@dataclass
class TranslationScorer:
    """BLEU (``tokenize``, ``lowercase``) and chrF (``chrf_word_order`` 0 = chrF, 2 = chrF++)."""

    tokenize: str
    lowercase: bool
    chrf_word_order: int

    def __post_init__(self) -> None:
        from sacrebleu.metrics import BLEU, CHRF

        self.bleu = BLEU(tokenize=self.tokenize, lowercase=self.lowercase)
        self.sentence_bleu_metric = BLEU(tokenize=self.tokenize, lowercase=self.lowercase, effective_order=True)
        self.chrf = CHRF(word_order=self.chrf_word_order, lowercase=self.lowercase)

    def corpus(self, hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        """Corpus BLEU and chrF of aligned hypothesis/reference lists (one reference each)."""
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
        if not hypotheses:
            raise ValueError("no sentences to score")
        hyps, refs = list(hypotheses), [list(references)]
        return {
            "bleu": float(self.bleu.corpus_score(hyps, refs).score),
            "chrf": float(self.chrf.corpus_score(hyps, refs).score),
        }

    def sentence(self, hypothesis: str, reference: str) -> dict[str, float]:
        return {
            "bleu": float(self.sentence_bleu_metric.sentence_score(hypothesis, [reference]).score),
            "chrf": float(self.chrf.sentence_score(hypothesis, [reference]).score),
        }

    def signatures(self) -> dict[str, str]:
        """sacrebleu's reproducibility signatures (tokeniser, case, smoothing, version)."""
        return {
            "bleu_signature": str(self.bleu.get_signature()),
            "chrf_signature": str(self.chrf.get_signature()),
        }
