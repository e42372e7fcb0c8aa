"""Speaker-attributed ASR ("who said what"): cpWER (through meeteval), WDER, and WER ignoring speakers.

Both sides are sequences of :class:`SpeakerToken` (a normalised word and the speaker who said it), in
time order. A reference comes from an STM file (speaker, start, end, text per turn); a hypothesis
from a model's speaker-labelled words. Each turn's text is normalised as a whole and split into
tokens that keep the turn's speaker, so every metric sees the same tokens.

- **cpWER** (concatenated minimum-permutation WER; Watanabe et al., CHiME-6 2020): each speaker's
  words are concatenated, hypothesis speakers are mapped one-to-one to reference speakers by the
  permutation that minimises the total word errors, and cpWER = errors ÷ reference words. A missing
  or extra speaker's words count as deletions or insertions. Computed by
  ``meeteval.wer.cp_word_error_rate`` (Hungarian assignment).
- **WDER** (word diarization error rate; Shafey et al., Interspeech 2019, "Joint speech recognition
  and speaker diarization via sequence transduction"): the reference and hypothesis word sequences
  are aligned ignoring speakers (minimum edit distance); among the aligned pairs, ``C`` correct and
  ``S`` substituted words, ``C_IS`` and ``S_IS`` are those whose hypothesis speaker is not the
  reference speaker, and WDER = (S_IS + C_IS) ÷ (S + C). Insertions and deletions carry no speaker
  comparison and are left to the WER. Hypothesis speakers are anonymous labels, so they are first
  mapped one-to-one onto reference speakers by the assignment that maximises the aligned pairs whose
  speakers agree (Hungarian); a hypothesis speaker left without a reference speaker is wrong on
  every pair.
- **WER ignoring speakers**: the two token sequences, speakers dropped, through :mod:`modellab.metrics.wer`.

Corpus figures are pooled (Σ errors ÷ Σ words over files), never means of per-file rates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from modellab.metrics.wer import ErrorCounts, word_errors

__all__ = [
    "CpWERCounts",
    "SpeakerToken",
    "WDERCounts",
    "aligned_pairs",
    "cpwer",
    "speaker_tokens",
    "wder",
    "wer_ignoring_speakers",
]


@dataclass(frozen=True)
class SpeakerToken:
    word: str
    speaker: str


@dataclass
class CpWERCounts:
    errors: int
    words: int  # reference words
    substitutions: int
    deletions: int
    insertions: int
    missed_speakers: int  # reference speakers with no hypothesis speaker
    falarm_speakers: int  # hypothesis speakers with no reference speaker

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else float("nan")


@dataclass
class WDERCounts:
    speaker_errors: int  # S_IS + C_IS
    scored_words: int  # S + C
    substitutions: int  # S
    correct: int  # C

    @property
    def rate(self) -> float:
        return self.speaker_errors / self.scored_words if self.scored_words else float("nan")


def speaker_tokens(turns: Iterable[tuple[str, str]], normalize: Callable[[str], str]) -> list[SpeakerToken]:
    """``(speaker, text)`` turns, in time order, as normalised tokens that keep their turn's speaker."""
    return [SpeakerToken(word, speaker) for speaker, text in turns for word in normalize(text).split()]


def _by_speaker(tokens: list[SpeakerToken]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for t in tokens:
        out.setdefault(t.speaker, []).append(t.word)
    return {speaker: " ".join(words) for speaker, words in out.items()}


def cpwer(reference: list[SpeakerToken], hypothesis: list[SpeakerToken]) -> CpWERCounts:
    """One file's cpWER counts (meeteval's ``cp_word_error_rate``)."""
    from meeteval.wer import cp_word_error_rate  # type: ignore[import-untyped]

    ref, hyp = _by_speaker(reference), _by_speaker(hypothesis)
    if not ref and not hyp:
        return CpWERCounts(0, 0, 0, 0, 0, 0, 0)
    er = cp_word_error_rate(ref, hyp, reference_sort=False, hypothesis_sort=False)
    return CpWERCounts(
        errors=int(er.errors),
        words=int(er.length),
        substitutions=int(er.substitutions),
        deletions=int(er.deletions),
        insertions=int(er.insertions),
        missed_speakers=int(er.missed_speaker),
        falarm_speakers=int(er.falarm_speaker),
    )


def aligned_pairs(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int, bool]]:
    """``(reference index, hypothesis index, same word)`` of the pairs a minimum-edit-distance alignment
    matches (correct words and substitutions; jiwer's alignment)."""
    if not reference or not hypothesis:
        return []
    import jiwer

    pairs = []
    for chunk in jiwer.process_words(" ".join(reference), " ".join(hypothesis)).alignments[0]:
        if chunk.type not in ("equal", "substitute"):
            continue
        for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
            pairs.append((chunk.ref_start_idx + k, chunk.hyp_start_idx + k, chunk.type == "equal"))
    return pairs


def _speaker_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Hypothesis speaker -> reference speaker, one-to-one, maximising the pairs that agree."""
    from scipy.optimize import linear_sum_assignment

    refs = sorted({r for r, _ in pairs})
    hyps = sorted({h for _, h in pairs})
    agree = np.zeros((len(refs), len(hyps)))
    for r, h in pairs:
        agree[refs.index(r), hyps.index(h)] += 1
    rows, cols = linear_sum_assignment(agree, maximize=True)
    return {hyps[c]: refs[r] for r, c in zip(rows, cols, strict=True)}


def wder(reference: list[SpeakerToken], hypothesis: list[SpeakerToken]) -> WDERCounts:
    """One file's WDER counts (definition in the module docstring)."""
    aligned = aligned_pairs([t.word for t in reference], [t.word for t in hypothesis])
    speakers = [(reference[i].speaker, hypothesis[j].speaker) for i, j, _ in aligned]
    mapping = _speaker_map(speakers) if speakers else {}
    errors = sum(1 for r, h in speakers if mapping.get(h) != r)
    correct = sum(1 for _, _, same in aligned if same)
    return WDERCounts(errors, len(aligned), len(aligned) - correct, correct)


def wer_ignoring_speakers(reference: list[SpeakerToken], hypothesis: list[SpeakerToken]) -> ErrorCounts:
    """WER of the token sequences with the speakers dropped."""
    return word_errors(" ".join(t.word for t in reference), " ".join(t.word for t in hypothesis))
