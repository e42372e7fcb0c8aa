"""Tests that kill the mutants of ``modellab/metrics/normalizers.py`` the older tests let survive (see
docs/testing.md, "Mutation testing"). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import importlib.metadata

import pytest

from modellab.metrics import normalizers
from modellab.metrics.normalizers import NORMALIZERS, get_normalizer


def test_whisper_basic_drops_bracketed_text_and_symbols_but_keeps_accents() -> None:
    # lower-cased; "[noise]" and "(laughs)" removed; "!" and "," become spaces; "é" kept; spaces collapsed
    assert get_normalizer("whisper_basic")("Hello, [noise] (laughs) World! Café") == "hello world café"


@pytest.mark.parametrize(("name", "cache"), [("whisper_en", "_whisper_en"), ("whisper_basic", "_whisper_basic")])
def test_the_whisper_normalisers_are_built_on_first_use_and_then_cached(
    name: str, cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(normalizers, cache, None)  # as in a fresh process
    assert get_normalizer(name)("Hello,  World!") == "hello world"
    built = getattr(normalizers, cache)
    assert built is not None
    assert get_normalizer(name)("Hello,  World!") == "hello world"
    assert getattr(normalizers, cache) is built  # not rebuilt on the second call


def test_the_whisper_normaliser_version_names_the_installed_package() -> None:
    expected = "whisper-normalizer==" + importlib.metadata.version("whisper-normalizer")
    assert normalizers._whisper_version() == expected
    assert NORMALIZERS["whisper_en"].version == NORMALIZERS["whisper_basic"].version == expected


def test_the_whisper_normaliser_version_is_unknown_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert normalizers._whisper_version() == "whisper-normalizer==unknown"
