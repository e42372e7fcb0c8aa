"""Property tests (hypothesis): normalisers, WER/CER invariants, manifest parsing never crashes oddly."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

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
