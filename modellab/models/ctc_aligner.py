"""CTC forced alignment with a wav2vec 2.0 checkpoint: the reference transcript's words, timed.

``align(audio, text)`` runs the acoustic model once and finds the most likely CTC path that
spells the given text (Viterbi over the blank-interleaved label sequence), so every reference
word gets a start and end frame. ``predict(audio)`` is greedy CTC decoding with word times (for
when no transcript is given). Characters the vocabulary lacks (punctuation, digits) are skipped;
a word left with none is not timed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modellab.models.wav2vec2 import Wav2Vec2CTCModel
from modellab.types import Audio, Transcript, Word

__all__ = ["Wav2Vec2Aligner", "ctc_forced_align", "greedy_spans"]


def ctc_forced_align(log_probs: np.ndarray, labels: list[int], blank: int) -> list[tuple[int, int]]:
    """The (first frame, last frame + 1) of each label on the best CTC path spelling ``labels``.

    ``log_probs`` is frames × vocabulary. Raises ``ValueError`` when there are too few frames.
    """
    frames = log_probs.shape[0]
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    states = len(ext)
    # a skip over a blank (s-2 -> s) is allowed unless it would merge two equal labels
    skip = np.zeros(states, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    score = np.full(states, -np.inf)
    score[0] = log_probs[0, ext[0]]
    if states > 1:
        score[1] = log_probs[0, ext[1]]
    back = np.zeros((frames, states), dtype=np.int8)
    for t in range(1, frames):
        one = np.concatenate([[-np.inf], score[:-1]])
        two = np.concatenate([[-np.inf, -np.inf], score[:-2]])
        two[~skip] = -np.inf
        stacked = np.stack([score, one, two])
        back[t] = np.argmax(stacked, axis=0)
        score = stacked[back[t], np.arange(states)] + log_probs[t, ext]
    ends = [states - 1] + ([states - 2] if states > 1 else [])
    state = max(ends, key=lambda s: score[s])
    if not np.isfinite(score[state]):
        raise ValueError(f"cannot align {len(labels)} characters to {frames} frames: the audio is too short")
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= back[t, state]
    spans = []
    for j in range(len(labels)):
        hits = np.nonzero(path == 2 * j + 1)[0]
        spans.append((int(hits[0]), int(hits[-1]) + 1))
    return spans


def greedy_spans(ids: np.ndarray, blank: int) -> list[tuple[int, int, int]]:
    """Collapsed greedy CTC tokens as (token id, first frame, last frame + 1), blanks dropped."""
    out: list[tuple[int, int, int]] = []
    previous = None
    for t, token in enumerate(ids.tolist()):
        if token != previous and token != blank:
            out.append((token, t, t + 1))
        elif token == previous and token != blank:
            out[-1] = (token, out[-1][1], t + 1)
        previous = token
    return out


@dataclass
class _Vocabulary:
    ids: dict[str, int]
    blank: int
    delimiter: int | None

    def word_ids(self, word: str) -> list[int]:
        out = []
        for char in word:
            for candidate in (char, char.upper(), char.lower()):
                if candidate in self.ids and candidate != "|":
                    out.append(self.ids[candidate])
                    break
        return out


class Wav2Vec2Aligner(Wav2Vec2CTCModel):
    """wav2vec 2.0 CTC as a forced aligner (``align``) and as a word-timed greedy recogniser (``predict``)."""

    def load(self) -> None:
        super().load()
        tokenizer = self.processor.tokenizer
        delimiter = getattr(tokenizer, "word_delimiter_token", None)
        vocab = tokenizer.get_vocab()
        self.vocab = _Vocabulary(vocab, int(tokenizer.pad_token_id), vocab.get(delimiter) if delimiter else None)
        self.id_to_token = {i: t for t, i in vocab.items()}

    def _log_probs(self, audio: Audio) -> tuple[np.ndarray, float]:
        """Frame log-probabilities and the seconds per frame."""
        from modellab.models.hf_common import as_rate

        samples = as_rate(audio, self.rate)
        features = self.processor(samples, sampling_rate=self.rate, return_tensors="pt")
        values = features["input_values"].to(self.device.torch_device, self.dtype)
        with self.torch.inference_mode():
            logits = self.model(input_values=values).logits[0].float()
        log_probs = self.torch.log_softmax(logits, dim=-1).cpu().numpy()
        return log_probs, (len(samples) / self.rate) / max(1, log_probs.shape[0])

    def align(self, audio: Audio, text: str) -> Transcript:
        log_probs, frame_s = self._log_probs(audio)
        words = [w for w in text.split() if self.vocab.word_ids(w)]
        labels: list[int] = []
        owner: list[int] = []
        for i, word in enumerate(words):
            if i and self.vocab.delimiter is not None:
                labels.append(self.vocab.delimiter)
                owner.append(-1)
            ids = self.vocab.word_ids(word)
            labels += ids
            owner += [i] * len(ids)
        if not labels:
            return Transcript(text="", language=None)
        spans = ctc_forced_align(log_probs, labels, self.vocab.blank)
        timed = []
        for i, word in enumerate(words):
            mine = [(span, label) for span, label, o in zip(spans, labels, owner, strict=True) if o == i]
            start, end = mine[0][0][0], mine[-1][0][1]
            confidence = float(np.exp(np.mean([log_probs[s:e, label].mean() for (s, e), label in mine])))
            timed.append(Word(word, start * frame_s, end * frame_s, confidence))
        return Transcript(text=" ".join(words), words=timed, language=None)

    def predict(self, inputs: Audio) -> Transcript:
        log_probs, frame_s = self._log_probs(inputs)
        special = {i for i, t in self.id_to_token.items() if t.startswith("<") and t.endswith(">")}
        tokens = [t for t in greedy_spans(np.argmax(log_probs, axis=-1), self.vocab.blank) if t[0] not in special]
        words: list[Word] = []
        current: list[tuple[int, int, int]] = []
        for label, start, end in tokens + [(self.vocab.delimiter, 0, 0)]:
            if label == self.vocab.delimiter or label is None:
                chars = "".join(self.id_to_token.get(t, "") for t, _, _ in current if t != self.vocab.delimiter)
                if chars:
                    words.append(Word(chars, current[0][1] * frame_s, current[-1][2] * frame_s))
                current = []
            else:
                current.append((label, start, end))
        return Transcript(text=" ".join(w.word for w in words), words=words, language=None)
