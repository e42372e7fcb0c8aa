"""Every model family end to end on a tiny random-initialised checkpoint that the test builds.

The checkpoints are noise (see modellab.tools.tiny): these tests assert that each real adapter
loads a real checkpoint of its format through the runner, returns the right types and that the
run is recorded with its metrics. They never assert accuracy.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.device import Device
from modellab.results.views import connect
from modellab.tools import tiny
from modellab.types import Audio, Transcript

TWO_CARDS = ("task=asr", "dataset=cards_golden_v1", "+dataset.limit=2")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory):
    """Build each tiny checkpoint once per module, on first use."""
    root = tmp_path_factory.mktemp("tiny_checkpoints")
    built: dict[str, Path] = {}

    def get(model: str) -> Path:
        builder, name = tiny.BUILDERS[model]
        if name not in built:
            built[name] = builder(root / name)
        return built[name]

    return get


def _noise(seconds: float, seed: int) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32), 16_000)


def _assert_recorded(summary, results_dir: Path, model: str, family: str, batch_size: int = 1) -> None:
    assert summary.status == "ok" and summary.n_samples == 2 and summary.n_failed == 0
    for name in ("wer", "cer", "rtfx", "load_s", "compute_s", "peak_rss_mb"):
        assert isinstance(summary.metrics[name], float), name
    con = connect(results_dir)
    run = con.sql("SELECT model, model_family, status, batch_size, n_samples FROM runs").fetchall()
    assert run == [(model, family, "ok", batch_size, 2)]
    for hypothesis, output, error in con.sql("SELECT hypothesis, output, error FROM samples").fetchall():
        assert error is None and isinstance(hypothesis, str)
        assert set(json.loads(output)) >= {"text", "segments", "words", "language"}
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert {"wer", "cer", "rtfx", "load_s"} <= names


# --- whisper.cpp's ggml format, written by our converter ------------------------------------------


def _read_ggml(path: Path) -> dict:
    """A reader of the legacy whisper.cpp ggml layout, independent of the writer."""
    data = path.read_bytes()
    pos = 0

    def ints(n: int) -> tuple[int, ...]:
        nonlocal pos
        out = struct.unpack_from(f"<{n}i", data, pos)
        pos += 4 * n
        return out

    magic, *hparams = ints(12)
    n_mel, n_fft = ints(2)
    pos += 4 * n_mel * n_fft
    (n_tokens,) = ints(1)
    for _ in range(n_tokens):
        (length,) = ints(1)
        pos += length
    tensors = {}
    while pos < len(data):
        n_dims, name_len, ftype = ints(3)
        shape = ints(n_dims)
        name = data[pos : pos + name_len].decode()
        pos += name_len
        pos += int(np.prod(shape)) * (2 if ftype == 1 else 4)
        tensors[name] = (tuple(reversed(shape)), ftype)
    return {"magic": magic, "hparams": hparams, "mel": (n_mel, n_fft), "n_tokens": n_tokens, "tensors": tensors}


@pytest.mark.slow
def test_ggml_writer_layout_matches_the_checkpoint(tmp_path: Path) -> None:
    import torch

    from modellab.tools.ggml import GGML_MAGIC, HPARAMS, write_ggml

    checkpoint = tiny.tiny_openai_whisper(tmp_path / "tiny.pt")
    state = torch.load(checkpoint, map_location="cpu")
    parsed = _read_ggml(write_ggml(checkpoint, tmp_path / "ggml.bin"))
    assert parsed["magic"] == GGML_MAGIC
    assert parsed["hparams"][:10] == [state["dims"][k] for k in HPARAMS]
    assert parsed["hparams"][10] == 1  # float16 file
    assert parsed["mel"] == (80, 201)  # 80 mel bins over n_fft/2 + 1 = 201 frequency bins
    assert parsed["n_tokens"] == 50256  # the gpt2 BPE ranks of an English-only vocabulary
    assert list(parsed["tensors"]) == list(state["model_state_dict"])  # every tensor, in order
    assert parsed["tensors"]["encoder.conv1.bias"] == ((64, 1), 0)  # column bias, float32
    assert parsed["tensors"]["decoder.token_embedding.weight"] == ((51864, 64), 1)  # matrix, float16
    assert parsed["tensors"]["decoder.positional_embedding"] == ((448, 64), 0)  # kept float32
    assert parsed["tensors"]["encoder.ln_post.weight"] == ((64,), 0)  # vector, float32


def test_ggml_writer_refuses_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    from modellab.tools.ggml import write_ggml

    bogus = tmp_path / "notes.pt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="notes.pt: not an openai-whisper checkpoint"):
        write_ggml(bogus, tmp_path / "out.bin")


# --- end to end through the runner -----------------------------------------------------------------


@pytest.mark.slow
def test_openai_whisper_end_to_end(run_cell, results_dir, checkpoints) -> None:
    summary = run_cell(
        "+model=whisper",
        *TWO_CARDS,
        f"model.weights.path={checkpoints('whisper')}",
        "model.options.beam_size=null",
        "model.options.best_of=null",
        "model.options.sample_len=8",
    )
    _assert_recorded(summary, results_dir, "whisper", "openai-whisper")


@pytest.mark.slow
def test_whisper_cpp_end_to_end(run_cell, results_dir, checkpoints) -> None:
    summary = run_cell(
        "+model=whisper_cpp",
        *TWO_CARDS,
        f"model.weights.path={checkpoints('whisper_cpp')}",
        "model.options.beam_size=null",
        "model.options.temperature_inc=0.0",
        "model.options.max_tokens=8",
    )
    _assert_recorded(summary, results_dir, "whisper_cpp", "whisper.cpp")
    for (output,) in connect(results_dir).sql("SELECT output FROM samples").fetchall():
        assert all(0.0 <= s["start"] <= s["end"] for s in json.loads(output)["segments"])


@pytest.mark.slow
def test_hf_whisper_end_to_end_batched(run_cell, results_dir, checkpoints) -> None:
    path = checkpoints("hf_whisper")
    summary = run_cell(
        "+model=hf_whisper",
        *TWO_CARDS,
        f"model.weights.path={path}",
        "model.options.num_beams=1",
        "model.options.max_new_tokens=8",
        "model.options.batch_size=2",
    )
    _assert_recorded(summary, results_dir, "hf_whisper", "transformers-whisper", batch_size=2)

    model = load_component(
        "model",
        "hf_whisper",
        [f"model.weights.path={path}", "model.options.max_new_tokens=4", "model.options.batch_size=2"],
    )
    model.setup(Device())
    batch = model.predict_batch([_noise(1.0, 0), _noise(2.0, 1), _noise(0.5, 2)])  # two generate() calls
    assert len(batch) == 3 and all(isinstance(t, Transcript) and isinstance(t.text, str) for t in batch)


@pytest.mark.slow
def test_hf_whisper_english_only_checkpoint_refuses_another_language(checkpoints) -> None:
    from modellab.config import ConfigError

    model = load_component(
        "model", "hf_whisper", [f"model.weights.path={checkpoints('hf_whisper')}", "model.options.language=fr"]
    )
    with pytest.raises(ConfigError, match="English-only"):
        model.setup(Device())


@pytest.mark.slow
def test_distil_whisper_pipeline_end_to_end_batched(run_cell, results_dir, checkpoints) -> None:
    summary = run_cell(
        "+model=distil_whisper",
        *TWO_CARDS,
        f"model.weights.path={checkpoints('distil_whisper')}",
        "model.options.generate_kwargs.max_new_tokens=8",
        "model.options.batch_size=2",
        "model.options.chunk_length_s=1",  # one card clip becomes several chunks, batched by the pipeline
    )
    _assert_recorded(summary, results_dir, "distil_whisper", "distil-whisper", batch_size=2)


@pytest.mark.slow
def test_wav2vec2_end_to_end_and_batch_trims_padding(run_cell, results_dir, checkpoints) -> None:
    path = checkpoints("wav2vec2")
    summary = run_cell("+model=wav2vec2", *TWO_CARDS, f"model.weights.path={path}")
    _assert_recorded(summary, results_dir, "wav2vec2", "wav2vec2")

    model = load_component("model", "wav2vec2", [f"model.weights.path={path}", "model.options.batch_size=2"])
    model.setup(Device())
    short, long = _noise(0.25, 3), _noise(2.0, 4)
    batch = model.predict_batch([short, long])
    assert [type(t) for t in batch] == [Transcript, Transcript]
    # CTC emits at most one character per output frame: the short input's text is bounded by its
    # own frame count (≈ 0.25 s / 20 ms), not by the padded length of the batch.
    frames = int(model.model._get_feat_extract_output_lengths(len(short.samples)))
    assert len(batch[0].text.replace(" ", "")) <= frames


@pytest.mark.slow
def test_seamless_m4t_asr_and_translation_end_to_end(run_cell, results_dir, checkpoints) -> None:
    path = checkpoints("seamlessm4t")
    fast = ["model.options.num_beams=1", "model.options.max_new_tokens=8", f"model.weights.path={path}"]
    summary = run_cell("+model=seamlessm4t", *TWO_CARDS, *fast)
    _assert_recorded(summary, results_dir, "seamlessm4t", "seamless-m4t")

    translated = run_cell(
        "+model=seamlessm4t", "task=translation", "dataset=translate_golden_v1", "+dataset.limit=2", *fast
    )
    assert translated.status == "ok" and translated.n_samples == 2
    assert isinstance(translated.metrics["bleu"], float) and isinstance(translated.metrics["chrf"], float)
    outputs = connect(results_dir).sql("SELECT output FROM samples WHERE run_id = ?", params=[translated.run_id])
    assert {json.loads(o)["language"] for (o,) in outputs.fetchall()} == {"eng"}


@pytest.mark.slow
def test_seamless_m4t_unknown_target_language_is_refused(checkpoints) -> None:
    model = load_component(
        "model",
        "seamlessm4t",
        [f"model.weights.path={checkpoints('seamlessm4t')}", "model.options.target_language=xxx"],
    )
    with pytest.raises(ValueError, match="target_language 'xxx'.*deu, eng, fra, spa"):
        model.setup(Device())
