"""faster-whisper (CTranslate2) adapter.

Two kinds of batching, both off by default:

- ``batch_size`` > 1: faster-whisper's ``BatchedInferencePipeline``, the chunks of *one* long file
  (VAD-cut) decoded together; it drops the temperature fallback and timestamps, so its transcripts differ.
- ``files_per_batch`` > 1: *several files* in one encoder call and one beam-search ``generate`` call
  (:meth:`FasterWhisperModel.predict_batch`). Exact: each file's first 30 s window is decoded with the
  prompt, options, no-speech rule and timestamp split of faster-whisper's sequential ``transcribe``;
  a file whose sequential decoding would not stop after that window (longer than one window, a
  timestamp ending that seeks on, a temperature fallback) is decoded again on its own. Same transcripts.

``fit_window: true`` (changes accuracy, so off by default) cuts the encoder input to the longest
file of the batch plus ``fit_window_margin_s`` instead of padding every file to Whisper's 30 s:
CTranslate2 accepts shorter mel inputs (openai-whisper cannot), and the encoder's cost falls with
the frames, but Whisper was trained on 30 s windows.

``parallel_files`` > 1 (exact): that many CTranslate2 replicas (``num_workers``), each with
``device.threads // parallel_files`` threads, decode files at the same time from as many Python
threads (CTranslate2 releases the GIL). The runner hands :meth:`FasterWhisperModel.predict_batch`
``files_per_batch × parallel_files × PARALLEL_QUEUE`` files per timed call; each thread takes the
next ``files_per_batch`` of them as they finish, so a long file does not leave a core idle. Each
file is decoded exactly as without it (the same code, one file or one batch on one replica).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from modellab.models.base import ASRModel, keep_freed_memory
from modellab.models.weights import resolve_weights
from modellab.types import Audio, Transcript, Word

__all__ = ["AUTO", "FROM_SAMPLE", "PARALLEL_QUEUE", "FasterWhisperModel", "FasterWhisperOptions"]


FROM_SAMPLE = "from_sample"  # options.language: each sample's own language (its dataset's / manifest's)
AUTO = "auto"  # options.language: Whisper detects the language (as null)
_FRAME_GRAIN = 100  # fit_window: encoder frames rounded up to whole seconds (100 mel frames)
PARALLEL_QUEUE = 8  # parallel_files: groups of files_per_batch handed over per timed call, per replica


@dataclass
class FasterWhisperOptions:
    language: str | None  # a code (en, fr, ...): forced; auto or null: detected; from_sample: the sample's
    beam_size: int
    batch_size: int
    temperature: float
    condition_on_previous_text: bool
    vad_filter: bool
    word_timestamps: bool
    chunk_length: int | None
    task: str = "transcribe"  # or "translate" (to English)
    # Throughput settings. Their defaults live here, not in conf/model/*.yaml, on purpose (as
    # ASROptions.other_language_normalizer does): stored runs and pinned baselines compare
    # ``model.options`` as written in the config, so a run with the defaults stays comparable.
    files_per_batch: int = 1  # files per encoder + generate call (exact: same transcripts)
    fit_window: bool = False  # encoder window = longest file of the batch + margin (changes accuracy)
    fit_window_margin_s: float = 1.0
    heap_reuse_mb: int = 512  # keep freed blocks up to this size in the heap (process-wide, exact); 0: glibc default
    parallel_files: int = 1  # files decoded at once on as many CTranslate2 replicas (exact: same transcripts)
    without_timestamps: bool = False  # decode text tokens only (<|notimestamps|>): fewer tokens, one segment per window


@dataclass
class _FirstWindow:
    """One file's mel features as the sequential decoder cuts its first window."""

    features: Any  # (n_mels, content_frames)
    content_frames: int
    frames: int = 0  # the encoder frames it was decoded with (set by decode)


class FasterWhisperModel(ASRModel):
    Options = FasterWhisperOptions
    spoken_language: str | None = None  # the current sample's language (set by the ASR task)
    pool: ThreadPoolExecutor | None = None  # parallel_files > 1: the threads that decode at once

    def set_spoken_language(self, language: str | None) -> None:
        """The language of the next inputs, used where ``options.language`` is ``from_sample``."""
        self.spoken_language = language

    def decoding_language(self) -> str | None:
        """The ``language=`` given to ``transcribe``: forced, the sample's, or None (detect)."""
        language = self.options.language
        if language == FROM_SAMPLE:
            return self.spoken_language
        return None if language in (None, AUTO) else language

    @property
    def files_per_group(self) -> int:
        """Files per encoder + generate call (``files_per_batch``)."""
        return max(1, int(self.options.files_per_batch or 1))

    @property
    def parallel(self) -> int:
        """Files decoded at the same time (``parallel_files``), each on its own replica."""
        return max(1, int(self.options.parallel_files or 1))

    @property
    def inputs_per_call(self) -> int:
        queue = PARALLEL_QUEUE if self.parallel > 1 else 1
        return self.files_per_group * self.parallel * queue

    @property
    def warm_up_inputs(self) -> int:
        """One group per replica: each replica decodes once; the queue behind them needs no warming
        (warming all ``inputs_per_call`` files cost 40% of a 40-prompt cell)."""
        return self.files_per_group * self.parallel

    def replica_threads(self) -> int:
        """CTranslate2 threads per replica: the device's threads shared by the parallel replicas."""
        return max(1, self.device.threads // self.parallel)

    def load(self) -> None:
        import logging

        from faster_whisper import BatchedInferencePipeline, WhisperModel

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)

        if self.options.heap_reuse_mb > 0:
            keep_freed_memory(self.options.heap_reuse_mb)
        path = resolve_weights(self.weights, self.name)
        self.model = WhisperModel(
            path,
            device=self.device.kind,
            device_index=self.device.index,
            compute_type=self.device.compute_type,
            cpu_threads=self.replica_threads(),
            num_workers=self.parallel,
        )
        self.pipeline = BatchedInferencePipeline(self.model) if self.options.batch_size > 1 else None
        if self.pool is not None:  # loaded again (another device): the old threads go
            self.pool.shutdown()
        self.pool = ThreadPoolExecutor(self.parallel, "faster-whisper") if self.parallel > 1 else None

    def unload(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        super().unload()

    def transcribe_kwargs(self, **overrides: Any) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {
            "language": self.decoding_language(),
            "beam_size": o.beam_size,
            "temperature": o.temperature,
            "vad_filter": o.vad_filter,
            "word_timestamps": o.word_timestamps,
            "task": o.task,
        }
        if o.chunk_length:
            kwargs["chunk_length"] = o.chunk_length
        if o.without_timestamps:  # only when asked: the chunk pipeline's own default is True
            kwargs["without_timestamps"] = True
        if self.pipeline is not None:
            kwargs["batch_size"] = o.batch_size
        else:
            kwargs["condition_on_previous_text"] = o.condition_on_previous_text
        kwargs.update(overrides)
        return kwargs

    def predict(self, inputs: Audio, **overrides: Any) -> Transcript:
        if self.options.fit_window and not overrides:
            return self.predict_batch([inputs])[0]
        return self._transcribe(inputs, **overrides)

    def _transcribe(self, inputs: Audio, **overrides: Any) -> Transcript:
        """faster-whisper's own ``transcribe`` (sequential, or its chunk-batched pipeline)."""
        engine = self.pipeline or self.model
        segments, info = engine.transcribe(inputs.samples, **self.transcribe_kwargs(**overrides))
        segs = list(segments)
        words = [
            Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
            for s in segs
            for w in (s.words or [])
        ]
        return Transcript(
            text="".join(s.text for s in segs).strip(),
            segments=[{"start": float(s.start), "end": float(s.end), "text": s.text.strip()} for s in segs],
            words=words,
            language=info.language,
        )

    def _batch_decoder(self) -> _BatchDecoder | None:
        """The batch decoder for the current options and language (built once per language)."""
        cache: dict[str | None, _BatchDecoder | None] = self.__dict__.setdefault("_decoders", {})
        language = self.decoding_language()
        if language not in cache:
            cache[language] = _BatchDecoder.for_model(self)
        return cache[language]

    def predict_batch(self, batch: list[Audio]) -> list[Transcript]:
        """``files_per_batch`` files at a time (:meth:`_decode_group`); with ``parallel_files`` > 1,
        that many groups at once, each on its own thread and CTranslate2 replica."""
        size = self.files_per_group
        groups = [batch[start : start + size] for start in range(0, len(batch), size)]
        run: Callable[[list[Audio]], list[Transcript]] = self._decode_group
        outputs = self.pool.map(run, groups) if self.pool is not None else map(run, groups)
        return [transcript for group in outputs for transcript in group]

    def _decode_group(self, batch: list[Audio]) -> list[Transcript]:
        """The files that fit one window decoded together (:class:`_BatchDecoder`), the others,
        and any whose sequential decoding would go on after the first window, one by one."""
        decoder = self._batch_decoder() if self.files_per_group > 1 or self.options.fit_window else None
        done: list[Transcript | None] = [None] * len(batch)
        if decoder is not None:
            ready = [(i, w) for i, a in enumerate(batch) if (w := decoder.first_window(a)) is not None]
            size = self.files_per_group
            for start in range(0, len(ready), size):
                group = ready[start : start + size]
                for (i, _), output in zip(group, decoder.decode([w for _, w in group]), strict=True):
                    done[i] = output
        return [out if out is not None else self._transcribe(a) for out, a in zip(done, batch, strict=True)]


class _BatchDecoder:
    """The first window of several files through one ``encode`` and one ``generate`` call, with
    what faster-whisper's sequential ``generate_segments`` does for that window."""

    def __init__(self, adapter: FasterWhisperModel, options: Any, tokenizer: Any, language: str) -> None:
        self.adapter, self.whisper = adapter, adapter.model
        self.options, self.tokenizer, self.language = options, tokenizer, language
        self.window = int(self.whisper.feature_extractor.nb_max_frames)

    @classmethod
    def for_model(cls, adapter: FasterWhisperModel) -> _BatchDecoder | None:
        """A decoder, or None where the options make batched decoding differ from ``transcribe``
        (VAD, word timestamps, custom windows, language detection, sampling, the chunk pipeline)."""
        o = adapter.options
        language = adapter.decoding_language()
        whisper = adapter.model
        if language is None and not whisper.model.is_multilingual:
            language = "en"
        if adapter.pipeline is not None or o.vad_filter or o.word_timestamps or o.chunk_length or language is None:
            return None
        import numpy as np
        from faster_whisper.tokenizer import Tokenizer

        _, info = whisper.transcribe(np.zeros(160, np.float32), **adapter.transcribe_kwargs(language=language))
        options = info.transcription_options  # exactly what the sequential path would use (lazy: nothing decoded)
        if options.temperatures[0] > 0 or options.multilingual or options.hallucination_silence_threshold:
            return None
        tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task=o.task, language=info.language)
        return cls(adapter, options, tokenizer, info.language)

    def first_window(self, audio: Audio) -> _FirstWindow | None:
        """The file's features, or None when it does not fit one window (or is empty)."""
        features = self.whisper.feature_extractor(audio.samples)
        content = features.shape[-1] - 1  # as generate_segments: the last frame is padding
        if content <= 0 or content > self.window:
            return None
        return _FirstWindow(features[:, :content], content)

    def frames(self, windows: list[_FirstWindow]) -> int:
        """Encoder frames of the batch: Whisper's window, or (fit_window) the longest file + margin."""
        o = self.adapter.options
        if not o.fit_window:
            return self.window
        margin = int(o.fit_window_margin_s * self.whisper.frames_per_second)
        longest = max(w.content_frames for w in windows) + margin
        return min(self.window, _FRAME_GRAIN * math.ceil(longest / _FRAME_GRAIN))

    def decode(self, windows: list[_FirstWindow]) -> list[Transcript | None]:
        """Each file's transcript, or None where sequential decoding would go on past this window."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim

        frames = self.frames(windows)
        for w in windows:
            w.frames = frames
        stacked = np.stack([pad_or_trim(w.features, frames) for w in windows])
        encoder_output = self.whisper.encode(stacked)
        results = self.whisper.model.generate(encoder_output, [self.prompt()] * len(windows), **self.generate_kwargs())
        return [self.finish(result, w) for result, w in zip(results, windows, strict=True)]

    def prompt(self) -> list[int]:
        o = self.options
        previous = self.tokenizer.encode(" " + o.initial_prompt.strip()) if isinstance(o.initial_prompt, str) else []
        return list(
            self.whisper.get_prompt(
                self.tokenizer, previous, without_timestamps=o.without_timestamps, prefix=o.prefix, hotwords=o.hotwords
            )
        )

    def generate_kwargs(self) -> dict[str, Any]:
        """``generate_with_fallback``'s arguments for its first (beam-search) temperature."""
        o, whisper = self.options, self.whisper
        max_length = len(self.prompt()) + o.max_new_tokens if o.max_new_tokens is not None else whisper.max_length
        return {
            "length_penalty": o.length_penalty,
            "repetition_penalty": o.repetition_penalty,
            "no_repeat_ngram_size": o.no_repeat_ngram_size,
            "max_length": max_length,
            "return_scores": True,
            "return_no_speech_prob": True,
            "suppress_blank": o.suppress_blank,
            "suppress_tokens": o.suppress_tokens,
            "max_initial_timestamp_index": int(round(o.max_initial_timestamp / whisper.time_precision)),
            "beam_size": o.beam_size,
            "patience": o.patience,
        }

    def finish(self, result: Any, window: _FirstWindow) -> Transcript | None:
        """``generate_segments`` for one window: fallback, no-speech skip, timestamp split."""
        from faster_whisper.transcribe import get_compression_ratio

        o, tokens = self.options, result.sequences_ids[0]
        avg_logprob = result.scores[0] * (len(tokens) ** o.length_penalty) / (len(tokens) + 1)
        silent = o.no_speech_threshold is not None and result.no_speech_prob > o.no_speech_threshold
        low_logprob = o.log_prob_threshold is not None and avg_logprob < o.log_prob_threshold
        repetitive = (
            o.compression_ratio_threshold is not None
            and get_compression_ratio(self.tokenizer.decode(tokens).strip()) > o.compression_ratio_threshold
        )
        if (repetitive or low_logprob) and not (silent and low_logprob) and len(o.temperatures) > 1:
            return None  # sequential decoding would try the next temperature
        if repetitive and window.frames < self.window:
            return None  # a short window that ends in a loop: decoded again over the full 30 s
        if silent and not (o.log_prob_threshold is not None and avg_logprob > o.log_prob_threshold):
            return Transcript(text="", segments=[], words=[], language=self.language)
        size = window.content_frames
        duration = size * self.whisper.feature_extractor.time_per_frame
        split, seek, _ = self.whisper._split_segments_by_timestamps(self.tokenizer, tokens, 0.0, size, duration, 0)
        if seek < window.content_frames:
            return None  # sequential decoding would seek on and decode the rest
        return self.transcript(split)

    def transcript(self, split: list[dict[str, Any]]) -> Transcript:
        segments = []
        for segment in split:
            text = self.tokenizer.decode(segment["tokens"])
            if segment["start"] == segment["end"] or not text.strip():
                continue
            segments.append((float(segment["start"]), float(segment["end"]), text))
        return Transcript(
            text="".join(t for _, _, t in segments).strip(),
            segments=[{"start": s, "end": e, "text": t.strip()} for s, e, t in segments],
            words=[],
            language=self.language,
        )
