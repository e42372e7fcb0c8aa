"""Streaming: the LocalAgreement policy on a scripted model and clock, and the metrics, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.config.schema import ConfigError
from modellab.metrics.streaming import (
    finalisation_latency,
    first_partial_latency,
    partial_lag,
    revisions,
    speech_bounds,
)
from modellab.tasks.base import SampleRecord
from modellab.tasks.streaming_policy import LocalAgreement, VadEndpoint, chunk_arrivals
from modellab.types import Audio, Sample, Transcript, Word

SR = 1000  # a coarse rate keeps the scripted audio small; the policy is rate-agnostic
SCRIPT = [("one", 0.2, 0.6), ("two", 1.2, 1.6), ("three", 2.2, 2.6), ("four", 3.2, 3.6)]


def ramp(duration_s: float) -> Audio:
    """Loud audio whose every sample encodes its own time: a scripted model can read where a buffer starts."""
    return Audio(0.5 + 1e-3 * np.arange(int(duration_s * SR)) / SR, SR)


def speech_and_silence(duration_s: float, script: list[tuple[str, float, float]]) -> Audio:
    """Loud where the script has words, near-digital silence elsewhere; every sample still encodes its time."""
    t = np.arange(int(duration_s * SR)) / SR
    x = 1e-6 * (t + 1)  # about -110 dBFS
    for _, start, end in script:
        span = (t >= start) & (t < end)
        x[span] = 0.5 + 1e-3 * t[span]
    return Audio(x, SR)


def time_of(value: float) -> float:
    """The time a sample of ramp() or speech_and_silence() encodes."""
    return (value - 0.5) / 1e-3 if value >= 0.25 else value / 1e-6 - 1


class ScriptedModel:
    """Hears the script's words that lie wholly inside the buffer; word times are relative to the buffer."""

    def __init__(self, timed: bool = True, mishear_below_s: float = 0.0, script=SCRIPT) -> None:
        self.timed, self.mishear_below_s, self.script = timed, mishear_below_s, script
        self.buffers: list[tuple[float, float]] = []

    def __call__(self, audio: Audio) -> Transcript:
        start = round(time_of(float(audio.samples[0])), 3)
        end = round(start + audio.duration_s, 3)
        self.buffers.append((start, end))
        words = [
            Word("won" if end - start < self.mishear_below_s and w == "one" else w, s - start, e - start)
            for w, s, e in self.script
            if s >= start and e <= end
        ]
        text = " ".join(w.word for w in words)
        return Transcript(text, words=words if self.timed else [])


class StepClock:
    """Each read advances ``step`` seconds, so every decode measures exactly ``step``."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def stream(duration_s: float, decode_s: float, model: ScriptedModel, max_buffer_s: float = 30.0):
    policy = LocalAgreement(
        chunk_s=1.0, max_buffer_s=max_buffer_s, overlap_tolerance_s=0.1, decode=model, clock=StepClock(decode_s)
    )
    return policy.run(ramp(duration_s))


def vad_stream(audio: Audio, model: ScriptedModel, max_buffer_s: float = 30.0):
    policy = VadEndpoint(
        chunk_s=1.0,
        max_buffer_s=max_buffer_s,
        silence_dbfs=-40.0,
        min_silence_s=0.5,
        frame_s=0.02,
        decode=model,
        clock=StepClock(0.15),
    )
    return policy.run(audio)


def test_chunk_arrivals() -> None:
    assert chunk_arrivals(2.5, 1.0) == [1.0, 2.0, 2.5]
    assert chunk_arrivals(2.0, 1.0) == [1.0, 2.0]
    assert chunk_arrivals(0.3, 1.0) == [0.3]
    with pytest.raises(ValueError, match="positive"):
        chunk_arrivals(1.0, 0.0)


def test_local_agreement_commits_what_two_hypotheses_agree_on() -> None:
    result = stream(3.0, 0.15, ScriptedModel())
    events = [(round(e.t, 6), e.audio_s, e.text, e.committed, e.final) for e in result.events]
    assert events == [
        (1.15, 1.0, "one", 0, False),
        (2.15, 2.0, "one two", 1, False),
        (3.15, 3.0, "one two three", 2, False),
        (3.15, 3.0, "one two three", 3, True),
    ]
    assert result.text == "one two three" and result.decodes == 3
    assert result.decode_s == pytest.approx(0.45)
    assert [(w.word, w.start, w.end) for w in result.words] == [(w, s, e) for w, s, e in SCRIPT[:3]]


def test_a_slow_decoder_falls_behind_and_skips_to_the_newest_audio() -> None:
    # decode takes 2.5 s: the first (1 s of audio) ends at 3.5 s, by when chunks 2 and 3 have both arrived.
    result = stream(3.0, 2.5, ScriptedModel())
    events = [(round(e.t, 6), e.audio_s, e.text, e.committed) for e in result.events]
    assert events == [(3.5, 1.0, "one", 0), (6.0, 3.0, "one two three", 1), (6.0, 3.0, "one two three", 3)]
    assert result.decodes == 2


def test_revised_partials_are_counted() -> None:
    result = stream(3.0, 0.15, ScriptedModel(mishear_below_s=1.5))  # "one" is misheard in the 1 s buffer
    texts = [e.text for e in result.events]
    assert texts == ["won", "one two", "one two three", "one two three"]
    assert [e.committed for e in result.events] == [0, 0, 2, 3]
    # "" -> won: +1; won -> one two: 1 revised, +2; -> one two three: +1; final: nothing new.
    rev = revisions(texts)
    assert (rev.emitted, rev.revised, rev.rate) == (4, 1, 0.25)


def test_buffer_is_cut_at_the_last_committed_word() -> None:
    model = ScriptedModel()
    result = stream(4.0, 0.15, model, max_buffer_s=1.5)
    # after the 2nd decode (buffer 0-2 s > 1.5 s) the buffer restarts at the end of "one" (0.6 s);
    # after the 3rd (0.6-3 s) at the end of "two" (1.6 s).
    assert model.buffers == [(0.0, 1.0), (0.0, 2.0), (0.6, 3.0), (1.6, 4.0)]
    assert result.text == "one two three four"
    assert [(w.word, w.start) for w in result.words] == [(w, s) for w, s, _ in SCRIPT]


def test_without_word_times_the_committed_prefix_is_skipped_by_count() -> None:
    result = stream(3.0, 0.15, ScriptedModel(timed=False))
    assert [(e.text, e.committed) for e in result.events] == [
        ("one", 0),
        ("one two", 1),
        ("one two three", 2),
        ("one two three", 3),
    ]
    assert result.words[0].start is None


def test_vad_endpoint_skips_silence_and_commits_at_pauses() -> None:
    script = [("one", 1.2, 1.6), ("two", 3.2, 3.6)]
    model = ScriptedModel(script=script)
    result = vad_stream(speech_and_silence(4.0, script), model)
    # 0-1 s: silence only, nothing decoded (the buffer keeps its last 0.5 s). 0.5-2 s: "one" with 0.4 s of
    # trailing silence (< 0.5 s): a partial. 0.5-3 s: 1.4 s of trailing silence: endpoint, "one" is final.
    # 3-4 s: the end of the stream is an endpoint too.
    assert model.buffers == [(0.5, 2.0), (0.5, 3.0), (3.0, 4.0)]
    events = [(round(e.t, 6), e.audio_s, e.text, e.committed) for e in result.events]
    assert events == [
        (2.15, 2.0, "one", 0),
        (3.15, 3.0, "one", 1),
        (4.15, 4.0, "one two", 2),
        (4.15, 4.0, "one two", 2),
    ]
    assert [(w.word, w.start, w.end) for w in result.words] == [("one", 1.2, 1.6), ("two", 3.2, 3.6)]


def test_vad_endpoint_forces_an_endpoint_at_max_buffer() -> None:
    script = [("one", 0.2, 0.9), ("two", 1.1, 1.9), ("three", 2.1, 2.9)]  # pauses of 0.2 s only
    model = ScriptedModel(script=script)
    result = vad_stream(speech_and_silence(3.0, script), model, max_buffer_s=2.0)
    assert model.buffers == [(0.0, 1.0), (0.0, 2.0), (2.0, 3.0)]  # the 2 s buffer is committed and restarted
    assert [e.committed for e in result.events] == [0, 2, 3, 3]


def test_revisions_ignore_case_and_punctuation() -> None:
    # "" -> the: +1; the -> the cat: +1; the cat -> a cat sat: 2 revised, +3; -> ... on: +1; -> ... the mat: +2
    texts = ["the", "The cat", "a cat sat", "a cat sat on", "A cat sat on the mat."]
    rev = revisions(texts)
    assert (rev.emitted, rev.revised) == (8, 2) and rev.rate == pytest.approx(0.25)
    assert revisions([]).rate is None


def test_latencies_hand_computed() -> None:
    events = [
        {"t": 1.2, "audio_s": 1.0, "text": "", "committed": 0},
        {"t": 2.0, "audio_s": 1.5, "text": "hi there", "committed": 0},
        {"t": 3.0, "audio_s": 2.5, "text": "hi there you", "committed": 2},
        {"t": 3.4, "audio_s": 3.0, "text": "hi there you", "committed": 3},
        {"t": 3.4, "audio_s": 3.0, "text": "hi there you", "committed": 3, "final": True},
    ]
    assert first_partial_latency(events, speech_start=0.5) == pytest.approx(1.5)
    assert finalisation_latency(events, speech_end=2.9) == pytest.approx(0.5)
    assert partial_lag(events) == pytest.approx((0.2 + 0.5 + 0.5 + 0.4) / 4)  # the final event is not a partial
    assert first_partial_latency(events[:1], 0.0) is None
    assert finalisation_latency([{"t": 1.0, "audio_s": 1.0, "text": "", "committed": 0}], 0.5) is None


def test_speech_bounds_of_a_tone_between_silences() -> None:
    sr = 16000
    t = np.arange(sr // 2) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    hiss = np.full(sr, 0.5 * 10 ** (-60 / 20))  # 60 dB below the tone: not speech
    samples = np.concatenate([hiss, tone, np.zeros(sr // 2)]).astype(np.float32)
    assert speech_bounds(samples, sr, 0.02, -35.0) == pytest.approx((1.0, 1.5))
    assert speech_bounds(np.zeros(sr, dtype=np.float32), sr, 0.02, -35.0) is None


def test_task_scores_records_hand_computed() -> None:
    task = load_component("task", "streaming_asr")

    def record(sample_id: str, ref: str, texts: list[str], committed: list[int], t: list[float]) -> SampleRecord:
        events = [
            {"t": ti, "audio_s": ti - 0.5, "text": x, "committed": c, "final": i == len(texts) - 1}
            for i, (x, c, ti) in enumerate(zip(texts, committed, t, strict=True))
        ]
        out = {"text": texts[-1], "events": events, "decodes": len(texts) - 1, "speech_start_s": 0.5}
        out["speech_end_s"] = 2.0
        return SampleRecord(Sample(sample_id, text=ref), output=out)

    records = [
        # partials "a", "a b"; final "a b"; reference "a b": WER 0, first partial 1.0 - 0.5, final at 2.5 - 2.0
        record("s1", "a b", ["a", "a b", "a b"], [0, 2, 2], [1.0, 2.5, 2.5]),
        # partials "x", "c d"; final "c d e" vs reference "c d": 1 insertion; first partial 2.0 - 0.5
        record("s2", "c d", ["x", "c d", "c d e"], [0, 0, 3], [2.0, 3.0, 3.5]),
        SampleRecord(Sample("s3", text="z"), error="boom"),
    ]
    scores = task.score(records, "golden")
    s1, s2, s3 = scores.samples
    assert s1["wer"] == 0.0 and s2["wer"] == pytest.approx(0.5) and s3["hypothesis"] is None
    assert s1["first_partial_latency_s"] == pytest.approx(0.5) and s2["first_partial_latency_s"] == pytest.approx(1.5)
    assert s1["finalisation_latency_s"] == pytest.approx(0.5) and s2["finalisation_latency_s"] == pytest.approx(1.5)
    # s1: "" -> a (+1) -> a b (+1) -> a b: 2 emitted, 0 revised. s2: +1, (1 revised, +2), +1: 4 emitted, 1 revised.
    assert s1["partial_revision_rate"] == 0.0 and s2["partial_revision_rate"] == pytest.approx(0.25)
    metrics = {m.name: m.value for m in scores.metrics}
    assert metrics["wer"] == pytest.approx(0.25)  # pooled: 1 error / 4 reference words
    assert metrics["first_partial_latency_s"] == pytest.approx(1.0)
    assert metrics["finalisation_latency_s"] == pytest.approx(1.0)
    assert metrics["partial_revision_rate"] == pytest.approx(1 / 6)  # pooled: 1 revised / 6 emitted
    assert metrics["partial_lag_s"] == pytest.approx(0.5)
    assert metrics["decodes_per_sample"] == pytest.approx(2.0)


def test_unknown_policy_and_bad_chunk_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown streaming policy 'magic'"):
        load_component("task", "streaming_asr", ["task.options.policy=magic"])
    with pytest.raises(ConfigError, match="chunk_s must be positive"):
        load_component("task", "streaming_asr", ["task.options.chunk_s=0"])


def test_task_identity_covers_the_policy_source() -> None:
    identity = load_component("task", "streaming_asr").identity()
    assert len(identity["policy_source"]) == 12 and identity["options"]["policy"] == "local_agreement"
