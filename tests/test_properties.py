"""Property tests (hypothesis): normalisers, WER/CER invariants, manifest parsing never crashes oddly."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modellab.datasets.base import DatasetError
from modellab.datasets.manifest import ManifestDataset
from modellab.metrics.normalizers import NORMALIZERS, get_normalizer
from modellab.metrics.wer import char_errors, pooled, word_errors

words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Z", "Cc")), min_size=1, max_size=8)
sentences = st.lists(words, min_size=0, max_size=12).map(" ".join)
any_text = st.text(max_size=200)


@given(any_text)
def test_every_normaliser_returns_clean_single_spaced_text(text: str) -> None:
    for norm in NORMALIZERS.values():
        out = norm(text)
        assert isinstance(out, str)
        assert out == out.strip() and "  " not in out


@given(any_text)
def test_none_and_basic_are_idempotent(text: str) -> None:
    for name in ("none", "basic"):
        n = get_normalizer(name)
        assert n(n(text)) == n(text)


@given(sentences)
def test_wer_of_a_text_against_itself_is_zero(text: str) -> None:
    counts = word_errors(text, text)
    assert counts.errors == 0
    assert counts.rate == 0.0 or (not text.split() and math.isnan(counts.rate))


@given(sentences, sentences)
def test_wer_counts_are_consistent(ref: str, hyp: str) -> None:
    c = word_errors(ref, hyp)
    assert c.substitutions + c.deletions + c.hits == len(ref.split())
    assert c.substitutions + c.insertions + c.hits == len(hyp.split())
    assert c.errors >= abs(len(ref.split()) - len(hyp.split()))
    if ref.split():
        assert c.rate >= 0


@given(sentences.filter(lambda s: bool(s.split())))
def test_empty_hypothesis_is_always_wer_one(ref: str) -> None:
    assert word_errors(ref, "").rate == 1.0


@given(st.lists(st.tuples(sentences, sentences), min_size=1, max_size=6))
def test_pooled_wer_lies_between_the_per_sample_rates(pairs: list[tuple[str, str]]) -> None:
    counts = [word_errors(r, h) for r, h in pairs if r.split()]
    if not counts:
        return
    rate = pooled(counts).rate
    assert min(c.rate for c in counts) - 1e-12 <= rate <= max(c.rate for c in counts) + 1e-12


@given(st.lists(st.tuples(sentences, sentences), min_size=1, max_size=6), st.integers(1, 50))
def test_pooled_wer_weights_samples_by_reference_length(pairs: list[tuple[str, str]], perfect_words: int) -> None:
    """Unlike a mean of rates (which "lies between min and max" too): pooled WER is the reference-length
    weighted mean, and a perfect sample of n words pulls it toward 0 in proportion to n."""
    counts = [word_errors(r, h) for r, h in pairs if r.split()]
    if not counts:
        return
    total = sum(c.ref_len for c in counts)
    assert pooled(counts).rate == pytest.approx(sum(c.rate * c.ref_len for c in counts) / total)
    perfect = " ".join(["w"] * perfect_words)
    with_perfect = pooled([*counts, word_errors(perfect, perfect)])
    assert with_perfect.rate == pytest.approx(sum(c.errors for c in counts) / (total + perfect_words))
    assert with_perfect.hits == sum(c.hits for c in counts) + perfect_words


plain_words = st.lists(st.sampled_from(["red", "green", "blue", "black", "white"]), min_size=0, max_size=10)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(plain_words.filter(bool), plain_words), min_size=1, max_size=5))
def test_asr_task_run_wer_is_errors_over_words_of_its_own_sample_rows(pairs: list[tuple[list, list]]) -> None:
    """Through ASRTask.score: the run WER is Σ(S + D + I) ÷ Σ reference words of the stored rows,
    whatever the lengths; a run WER that averaged the rows' WERs fails as soon as lengths differ."""
    from modellab.config.registry import load_component
    from modellab.tasks.base import SampleRecord
    from modellab.types import Sample

    task = load_component("task", "asr")
    records = [
        SampleRecord(Sample(f"s{i}", text=" ".join(ref)), output={"text": " ".join(hyp)}, audio_s=5.0)
        for i, (ref, hyp) in enumerate(pairs)
    ]
    scores = task.score(records, "golden")
    run = {m.name: m.value for m in scores.metrics}
    errors = sum(r["substitutions"] + r["deletions"] + r["insertions"] for r in scores.samples)
    words = sum(r["ref_words"] for r in scores.samples)
    assert words == sum(len(ref) for ref, _ in pairs)
    assert run["wer"] == pytest.approx(errors / words)


@given(sentences, sentences)
def test_cer_is_zero_only_for_identical_strings(ref: str, hyp: str) -> None:
    if not ref:
        return
    assert (char_errors(ref, hyp).errors == 0) == (ref == hyp)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
manifest_lines = st.lists(
    st.one_of(
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"sample_id": st.text(max_size=10), "audio": st.text(max_size=30)},
            optional={"text": st.text(max_size=20), "duration": json_values},
        ).map(json.dumps),
        st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s),
    ),
    max_size=6,
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(manifest_lines)
def test_manifest_parsing_gives_samples_or_a_dataset_error(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        ds = ManifestDataset(name="fuzz", root=str(root), tasks=["asr"], manifest="manifest.jsonl")
        try:
            samples = ds.samples()
        except DatasetError as exc:
            assert "manifest.jsonl" in str(exc) or "dataset 'fuzz'" in str(exc)
            return
        for s in samples:
            assert Path(s.audio_path).resolve().is_relative_to(root.resolve())


# --- VAD and diarization metric invariants ------------------------------------------------------
segment = st.tuples(st.floats(0, 9.5), st.floats(0.02, 3)).map(
    lambda t: (round(t[0], 2), round(min(10.0, t[0] + t[1]), 2))
)
segments = st.lists(segment, max_size=6)


@given(segments, segments)
def test_vad_frame_counts_partition_every_frame(ref, hyp) -> None:
    from modellab.metrics.vad import frame_counts

    c = frame_counts(ref, hyp, duration_s=10.0, frame_s=0.01)
    assert c.true_positive + c.false_positive + c.false_negative + c.true_negative == 1000
    for rate in (c.precision, c.recall, c.f1, c.miss_rate, c.false_alarm_rate):
        assert rate is None or 0.0 <= rate <= 1.0


@given(segments.filter(bool))
def test_vad_of_the_reference_itself_is_perfect(ref) -> None:
    from modellab.metrics.vad import frame_counts

    c = frame_counts(ref, ref, duration_s=10.0, frame_s=0.01)
    assert c.f1 == 1.0 and c.detection_error_rate == 0.0


@given(segments, segments)
def test_vad_f1_is_symmetric(ref, hyp) -> None:
    from modellab.metrics.vad import frame_counts

    assert frame_counts(ref, hyp, 10.0, 0.01).f1 == frame_counts(hyp, ref, 10.0, 0.01).f1


def _turns(segs, speakers):
    from modellab.types import SpeakerTurn

    return [SpeakerTurn(s, e, f"spk{speakers[i % len(speakers)]}") for i, (s, e) in enumerate(segs)]


@settings(deadline=None, max_examples=50)
@given(segments.filter(bool), st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_der_of_the_reference_itself_is_zero_and_labels_do_not_matter(segs, speakers) -> None:
    from modellab.metrics.diarization import DiarizationScorer

    ref = _turns(segs, speakers)
    renamed = [type(t)(t.start, t.end, "other-" + t.speaker) for t in ref]
    score = DiarizationScorer(collar_s=0.0, skip_overlap=False).add(ref, renamed, duration_s=10.0)
    assert score.der == 0.0 and score.missed == 0.0 and score.false_alarm == 0.0 and score.confusion == 0.0


@settings(deadline=None, max_examples=50)
@given(segments.filter(bool), segments, st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_der_parts_add_up_and_an_empty_hypothesis_misses_everything(ref_segs, hyp_segs, speakers) -> None:
    from modellab.metrics.diarization import DiarizationScorer

    ref = _turns(ref_segs, speakers)
    score = DiarizationScorer(collar_s=0.0, skip_overlap=False).add(ref, _turns(hyp_segs, speakers), 10.0)
    assert abs(score.der - (score.missed + score.false_alarm + score.confusion) / score.total) < 1e-9
    assert score.der >= 0.0
    empty = DiarizationScorer(collar_s=0.0, skip_overlap=False).add(ref, [], 10.0)
    assert abs(empty.der - 1.0) < 1e-9
