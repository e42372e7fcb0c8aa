"""Decode any audio or video file to mono float32 at 16 kHz, with a bounded in-process cache."""

from __future__ import annotations

import os
from collections import OrderedDict
from math import gcd
from pathlib import Path

import numpy as np

from modellab.types import SAMPLE_RATE, Audio

__all__ = ["AudioError", "clear_audio_cache", "dbfs", "load_audio", "resample", "set_audio_cache_mb"]

MIN_DURATION_S = 0.01  # shorter input is refused with a clear error, not guessed at
_CACHE: OrderedDict[tuple, Audio] = OrderedDict()
_CACHE_MAX_BYTES = int(os.environ.get("MODELLAB_AUDIO_CACHE_MB", "512")) * (1 << 20)
_cache_bytes = 0


class AudioError(ValueError):
    """An audio file cannot be used; the message names the file and what is wrong."""


def set_audio_cache_mb(megabytes: int) -> None:
    """Bound the decoded-audio cache (``MODELLAB_AUDIO_CACHE_MB``, default 512). The cache lets the
    cells of a sweep decode each file once; a single run gains nothing from it, so ``python -m
    modellab`` without ``-m`` sets 0 (keep only the last file) unless the variable is set."""
    global _CACHE_MAX_BYTES, _cache_bytes
    _CACHE_MAX_BYTES = max(0, int(megabytes)) * (1 << 20)
    while _cache_bytes > _CACHE_MAX_BYTES and len(_CACHE) > 1:
        _, old = _CACHE.popitem(last=False)
        _cache_bytes -= old.samples.nbytes


def clear_audio_cache() -> None:
    global _cache_bytes
    _CACHE.clear()
    _cache_bytes = 0


def dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf for silence or no samples)."""
    if samples.size == 0:
        return float("-inf")
    # In blocks of 1 Mi samples: a float64 square of a long recording at once would be 8 bytes
    # a sample of transient memory (230 MB for 30 min at 16 kHz).
    flat = samples.reshape(-1)
    total = 0.0
    for i in range(0, flat.size, 1 << 20):
        block = flat[i : i + (1 << 20)].astype(np.float64)
        total += float(np.dot(block, block))
    rms = float(np.sqrt(total / flat.size))
    return 20.0 * float(np.log10(rms)) if rms > 0 else float("-inf")


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    if orig_sr == target_sr:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(orig_sr, target_sr)
    return resample_poly(samples, target_sr // g, orig_sr // g).astype(np.float32)


def _wav_declared_bytes(path: Path) -> tuple[int, int] | None:
    """(declared data bytes, bytes present) of a RIFF/WAVE file, or None if not a plain WAV."""
    import struct

    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):  # streamed WAV: size unknown
                    return None
                return chunk_size, size - (pos + 8)
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    declared = _wav_declared_bytes(path)
    if declared is not None and declared[1] < declared[0] * 0.99:
        raise AudioError(
            f"{path}: truncated WAV: the header declares {declared[0]} bytes of audio, the file holds {declared[1]}"
        )
    info = soundfile.info(str(path))
    data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    if info.frames > 0 and len(data) < 0.9 * info.frames:
        raise AudioError(
            f"{path}: truncated {info.format} file: {len(data) / sr:.2f} s decoded of {info.frames / sr:.2f} s declared"
        )
    return data.mean(axis=1), int(sr)


def _decode_av(path: Path, target_sr: int) -> tuple[np.ndarray, int]:
    import av

    chunks = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: the file has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32), target_sr
    return np.concatenate(chunks).astype(np.float32), target_sr


def _decode(path: Path, target_sr: int) -> Audio:
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    errors = []
    try:
        samples, sr = _decode_soundfile(path)
    except AudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - fall back to ffmpeg (PyAV) for other containers
        errors.append(f"soundfile: {exc}")
        try:
            samples, sr = _decode_av(path, target_sr)
        except AudioError:
            raise
        except Exception as exc2:  # noqa: BLE001
            errors.append(f"ffmpeg: {exc2}")
            raise AudioError(f"{path}: cannot decode audio ({'; '.join(errors)})") from exc2
    if samples.size == 0:
        raise AudioError(f"{path}: decoded to no samples (empty or truncated audio)")
    if samples.size < MIN_DURATION_S * sr:
        raise AudioError(
            f"{path}: too short to score: {samples.size} sample(s) = {1000 * samples.size / sr:.2f} ms "
            f"(minimum {1000 * MIN_DURATION_S:.0f} ms)"
        )
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path}: contains NaN or infinite sample values")
    return Audio(resample(samples, sr, target_sr), target_sr)


def load_audio(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE, use_cache: bool = True) -> Audio:
    """Decode ``path`` (wav/flac/ogg via libsndfile; mp3/m4a/mp4/mkv/… via ffmpeg) to mono float32."""
    global _cache_bytes
    p = Path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_mtime_ns, st.st_size, sample_rate)
    except OSError:
        key = None
    if use_cache and key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    audio = _decode(p, sample_rate)
    if use_cache and key is not None:
        _CACHE[key] = audio
        _cache_bytes += audio.samples.nbytes
        while _cache_bytes > _CACHE_MAX_BYTES and len(_CACHE) > 1:
            _, old = _CACHE.popitem(last=False)
            _cache_bytes -= old.samples.nbytes
    return audio
