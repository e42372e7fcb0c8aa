"""Audio in and out: decoding any audio or video file (:mod:`.decode`) and offline speech
synthesis for the dataset builders (:mod:`.synth`)."""

from __future__ import annotations

from modellab.audio.decode import AudioError, clear_audio_cache, dbfs, load_audio, resample, set_audio_cache_mb

__all__ = ["AudioError", "clear_audio_cache", "dbfs", "load_audio", "resample", "set_audio_cache_mb"]
