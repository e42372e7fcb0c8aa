"""Write an openai-whisper checkpoint (``.pt``) as a whisper.cpp ggml model file, offline.

``python -m modellab.tools.ggml model.pt ggml-model.bin`` converts any checkpoint that
``whisper.load_model`` reads (``{"dims": ..., "model_state_dict": ...}``), taking the mel filters
and the tokenizer vocabulary from the installed ``openai-whisper`` package's assets. The file
layout is whisper.cpp's legacy ggml format: magic, hyper-parameters, mel filters, vocabulary,
then each tensor (dims, name, data; matrices in float16, vectors and embeddings in float32).
"""

from __future__ import annotations

import argparse
import base64
import struct
import sys
from pathlib import Path

import numpy as np

__all__ = ["GGML_MAGIC", "HPARAMS", "main", "write_ggml"]

GGML_MAGIC = 0x67676D6C  # "ggml"
HPARAMS = (
    "n_vocab",
    "n_audio_ctx",
    "n_audio_state",
    "n_audio_head",
    "n_audio_layer",
    "n_text_ctx",
    "n_text_state",
    "n_text_head",
    "n_text_layer",
    "n_mels",
)
_KEEP_F32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}
_COLUMN_BIASES = {"encoder.conv1.bias", "encoder.conv2.bias"}
_MULTILINGUAL_VOCAB = 51865


def _whisper_assets() -> Path:
    import whisper

    return Path(whisper.__file__).parent / "assets"


def _vocabulary(n_vocab: int) -> list[bytes]:
    name = "multilingual.tiktoken" if n_vocab >= _MULTILINGUAL_VOCAB else "gpt2.tiktoken"
    lines = (_whisper_assets() / name).read_bytes().splitlines()
    ranked = sorted((int(rank), base64.b64decode(token)) for token, rank in (line.split() for line in lines if line))
    return [token for _, token in ranked]


def write_ggml(checkpoint: str | Path, out: str | Path, f16: bool = True) -> Path:
    """Convert ``checkpoint`` (openai-whisper ``.pt``) to ggml at ``out``; return ``out``."""
    import torch

    checkpoint, out = Path(checkpoint), Path(out)
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        dims, tensors = state["dims"], state["model_state_dict"]
    except Exception as exc:  # noqa: BLE001 - any failure means "not an openai-whisper checkpoint"
        raise ValueError(f"{checkpoint}: not an openai-whisper checkpoint ({type(exc).__name__}: {exc})") from exc
    missing = [k for k in HPARAMS if k not in dims]
    if missing:
        raise ValueError(f"{checkpoint}: checkpoint dims lack {missing}")
    with np.load(_whisper_assets() / "mel_filters.npz") as mel:
        filters = mel[f"mel_{dims['n_mels']}"].astype(np.float32)
    vocab = _vocabulary(int(dims["n_vocab"]))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(struct.pack("<i", GGML_MAGIC))
        fh.write(struct.pack(f"<{len(HPARAMS)}i", *(int(dims[k]) for k in HPARAMS)))
        fh.write(struct.pack("<i", 1 if f16 else 0))
        fh.write(struct.pack("<ii", *filters.shape))
        fh.write(filters.tobytes())
        fh.write(struct.pack("<i", len(vocab)))
        for token in vocab:
            fh.write(struct.pack("<i", len(token)))
            fh.write(token)
        for name, tensor in tensors.items():
            data = tensor.detach().float().cpu().numpy().squeeze()
            if name in _COLUMN_BIASES:
                data = data.reshape(-1, 1)
            half = f16 and data.ndim >= 2 and name not in _KEEP_F32
            data = np.ascontiguousarray(data.astype(np.float16 if half else np.float32))
            encoded = name.encode("utf-8")
            fh.write(struct.pack("<iii", data.ndim, len(encoded), 1 if half else 0))
            fh.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
            fh.write(encoded)
            fh.write(data.tobytes())
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.tools.ggml", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="openai-whisper checkpoint (.pt)")
    parser.add_argument("out", help="ggml file to write")
    parser.add_argument("--f32", action="store_true", help="keep every tensor in float32")
    args = parser.parse_args(argv)
    print(write_ggml(args.checkpoint, args.out, f16=not args.f32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
