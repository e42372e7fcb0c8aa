"""Quality of generated speech without listeners: DNSMOS, DistillMOS and speaker consistency.

Predictors (named in ``options.quality.predictors`` of ``conf/task/tts.yaml`` / ``v2v.yaml``):

- ``dnsmos``: Microsoft's DNSMOS from the ``speechmos`` wheel (ONNX): ``dnsmos_p808`` (ITU-T P.808
  MOS) and the P.835 ``dnsmos_sig`` (speech), ``dnsmos_bak`` (background), ``dnsmos_ovrl``
  (overall), each 1-5. Clips shorter than 9.01 s are tiled to that length, as DNSMOS does.
- ``distillmos``: DistillMOS (``distillmos`` wheel, weights inside): ``distillmos``, 1-5.
- ``speaker``: resemblyzer's GE2E d-vector of each output (``speaker_embedding``, unit length);
  ``speaker_similarity`` is its cosine to the sample's reference recording where the dataset gives
  one (``extra.speaker_reference``, else the sample's own audio: a voice-to-voice input), and
  :func:`speaker_consistency` the cosine to the run's other outputs (one voice should sound alike).

Everything takes mono float audio at any rate (:class:`modellab.types.Audio`), resampled to 16 kHz
and clipped to [-1, 1] (what both MOS models expect), so any task that outputs speech can use it.
Each model loads once per process (:func:`functools.lru_cache`). A silent or empty output gets no
prediction (None): there is nothing to judge, and the task's health gates flag it already.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellab.config.schema import ConfigError
from modellab.types import SAMPLE_RATE, Audio

__all__ = [
    "EXTRA",
    "MOS_PREDICTOR_COLUMNS",
    "PREDICTORS",
    "QUALITY_COLUMNS",
    "Predictor",
    "QualityOptions",
    "assess_quality",
    "check_quality_options",
    "missing_requirements",
    "pooled_quality",
    "speaker_consistency",
    "speaker_similarity",
    "to_16k",
]

EXTRA = "quality"  # pyproject.toml extra with speechmos and distillmos (resemblyzer: setup.sh, --no-deps)
DNSMOS_INPUT_S = 9.01  # DNSMOS scores 9.01 s windows


@dataclass
class QualityOptions:
    """Values come from conf/task/<task>.yaml; the empty default is for configs stored before it existed."""

    predictors: list[str] = field(default_factory=list)  # names in PREDICTORS; [] turns quality off


def to_16k(audio: Audio) -> np.ndarray:
    """Mono float32 at 16 kHz, non-finite samples set to 0, clipped to [-1, 1]."""
    from modellab.audio.decode import resample

    samples = np.nan_to_num(np.asarray(audio.samples, dtype=np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    if audio.sample_rate != SAMPLE_RATE and samples.size:
        samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


# --- the models, loaded once per process ------------------------------------------------------


def _onnx_session(path: str) -> Any:
    """A single-threaded ONNX Runtime session (see :func:`_one_thread`)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


@functools.lru_cache(maxsize=1)
def _dnsmos() -> Any:
    """speechmos's DNSMOS scorer (its windowing, tiling and P.835 polynomials) on our sessions."""
    from speechmos import dnsmos  # type: ignore[import-untyped]

    folder = os.path.join(os.path.dirname(os.path.abspath(dnsmos.__file__)), "dnsmos_models")
    primary, p808 = os.path.join(folder, "sig_bak_ovr.onnx"), os.path.join(folder, "model_v8.onnx")
    scorer = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)  # its __init__ only opens the two sessions, with defaults
    scorer.primary_model_path = primary
    scorer.onnx_sess, scorer.p808_onnx_sess = _onnx_session(primary), _onnx_session(p808)
    return scorer


@functools.lru_cache(maxsize=1)
def _distillmos() -> Any:
    from distillmos import ConvTransformerSQAModel  # type: ignore[import-untyped]

    with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded its weights from
        model = ConvTransformerSQAModel()
    return model.eval()


@functools.lru_cache(maxsize=1)
def _voice_encoder() -> Any:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


# --- predictors --------------------------------------------------------------------------------


def _score_dnsmos(wav: np.ndarray) -> dict[str, Any]:
    scores = _dnsmos()(wav, SAMPLE_RATE, False)
    return {
        "dnsmos_p808": float(scores["p808_mos"]),
        "dnsmos_sig": float(scores["sig_mos"]),
        "dnsmos_bak": float(scores["bak_mos"]),
        "dnsmos_ovrl": float(scores["ovrl_mos"]),
    }


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Torch on one thread for the call. These models are small: measured on the 2-core VM, two
    threads cost 1.6x the CPU time (DistillMOS 0.95 vs 0.40 CPU-s per output) for a slower wall clock."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(before)


def _score_distillmos(wav: np.ndarray) -> dict[str, Any]:
    import torch

    with _one_thread():
        return {"distillmos": float(_distillmos()(torch.from_numpy(wav)[None])[0])}


def _embed(wav: np.ndarray) -> np.ndarray:
    """Unit-length d-vector; silences trimmed first (resemblyzer's own preprocessing) unless that leaves nothing."""
    from resemblyzer import preprocess_wav

    trimmed = preprocess_wav(wav, source_sr=SAMPLE_RATE)
    with _one_thread():
        embedding = np.asarray(_voice_encoder().embed_utterance(trimmed if trimmed.size else wav), dtype=np.float64)
    return embedding / np.linalg.norm(embedding)


def _score_speaker(wav: np.ndarray) -> dict[str, Any]:
    return {"speaker_embedding": [round(float(v), 6) for v in _embed(wav)]}


@dataclass(frozen=True)
class Predictor:
    name: str
    columns: tuple[str, ...]  # per-sample columns it produces (higher is better for all of them)
    requires: tuple[str, ...]  # import names
    score: Callable[[np.ndarray], dict[str, Any]]  # 16 kHz mono float in [-1, 1], not silent


PREDICTORS: dict[str, Predictor] = {
    p.name: p
    for p in (
        Predictor(
            "dnsmos",
            ("dnsmos_p808", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"),
            ("speechmos", "librosa"),
            _score_dnsmos,
        ),
        Predictor("distillmos", ("distillmos",), ("distillmos", "torch"), _score_distillmos),
        Predictor("speaker", ("speaker_consistency", "speaker_similarity"), ("resemblyzer",), _score_speaker),
    )
}
QUALITY_COLUMNS: tuple[str, ...] = tuple(c for p in PREDICTORS.values() for c in p.columns)
# The columns that predict a listener's opinion score (set against human MOS by modellab.analysis.mos).
MOS_PREDICTOR_COLUMNS: tuple[str, ...] = PREDICTORS["dnsmos"].columns + PREDICTORS["distillmos"].columns


def check_quality_options(opts: QualityOptions, where: str) -> None:
    unknown = [name for name in opts.predictors if name not in PREDICTORS]
    if unknown:
        raise ConfigError(f"{where}: quality.predictors {unknown} unknown; known: {sorted(PREDICTORS)}")


def missing_requirements(opts: QualityOptions) -> str | None:
    """A message naming the predictors whose modules do not import and the install line, or None."""
    missing = []
    for name in opts.predictors:
        for module in PREDICTORS[name].requires:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - any import failure means "not usable"
                missing.append(f"{name} needs {module}")
    if not missing:
        return None
    return (
        f"quality predictors unavailable ({'; '.join(missing)}). Install the extra: "
        f".venv/bin/pip install -e '.[{EXTRA}]' (resemblyzer: scripts/setup.sh), "
        "or turn them off: task.options.quality.predictors=[]"
    )


# --- per output and per run --------------------------------------------------------------------


def speaker_similarity(embedding: Sequence[float], reference: Audio) -> float | None:
    """Cosine between an output's d-vector and a reference recording's (None for a silent reference)."""
    wav = to_16k(reference)
    if not wav.size or not np.any(wav):
        return None
    return float(np.dot(np.asarray(embedding, dtype=np.float64), _embed(wav)))


def assess_quality(audio: Audio, opts: QualityOptions, reference: Audio | None = None) -> dict[str, Any]:
    """Every configured predictor on one output (their columns, plus ``speaker_embedding``).

    Silent or empty output: all None."""
    wav = to_16k(audio)
    silent = not wav.size or not np.any(wav)
    out: dict[str, Any] = {}
    for name in opts.predictors:
        predictor = PREDICTORS[name]
        if silent:
            out.update(dict.fromkeys(predictor.columns))
            continue
        out.update(predictor.score(wav))
    embedding = out.get("speaker_embedding")
    if embedding is not None and reference is not None:
        out["speaker_similarity"] = speaker_similarity(embedding, reference)
    return out


def speaker_consistency(embeddings: Sequence[Sequence[float] | None]) -> list[float | None]:
    """Per output: mean cosine to the run's other outputs (None without an embedding or with no
    other). The mean of these equals the mean pairwise cosine over all pairs of outputs."""
    present = [i for i, e in enumerate(embeddings) if e is not None]
    out: list[float | None] = [None] * len(embeddings)
    if len(present) < 2:
        return out
    vectors = np.array([embeddings[i] for i in present], dtype=np.float64)
    cosines = vectors @ vectors.T
    n = len(present)
    for row, i in enumerate(present):
        out[i] = float((cosines[row].sum() - cosines[row, row]) / (n - 1))
    return out


def pooled_quality(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Run means of the quality columns present (plain means over samples with a value, so the
    bootstrap interval machinery, ``metrics.stats``, decomposes them as a mean over samples)."""
    out: dict[str, float] = {}
    for column in QUALITY_COLUMNS:
        values = [float(r[column]) for r in rows if r.get(column) is not None]
        if values:
            out[column] = float(np.mean(values))
    return out
