"""An offline diarizer from installed parts: Silero VAD -> resemblyzer d-vectors on sliding
windows -> spectral (or agglomerative) clustering -> frame-level resegmentation.

1. Speech regions from Silero VAD (the ``silero-vad`` package's model).
2. Clustering windows (``window_s`` long, every ``hop_s``) inside each region are embedded with
   resemblyzer's GE2E voice encoder; regions shorter than a window get one window of their own.
3. The windows at least ``min_cluster_s`` long are clustered, the speaker count given or
   estimated. Spectral: the estimate is the smaller of NME-SC's eigengap count and the number
   of average-linkage clusters at ``distance_threshold`` - the two fail in opposite directions
   (the eigengap over-splits short, very clean files into one cluster per utterance; a fixed
   linkage threshold over-splits noisy or overlapped speech), so the smaller is the safer.
4. Resegmentation: shorter windows (``reseg_window_s`` every ``reseg_hop_s``) are scored against
   the speaker centroids; every 10 ms speech frame takes the speaker with the highest
   triangular-weighted mean score over the windows covering it. With ``overlap_margin`` set, a
   frame also gets the runner-up speaker when its score is within the margin (overlapped
   speech). Turns shorter than ``min_turn_s`` are absorbed by their neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modellab.audio import resample
from modellab.config.schema import ConfigError
from modellab.models.base import DiarizationModel
from modellab.models.silero_vad import torch_threads
from modellab.models.speaker_clustering import (
    agglomerative_clusters,
    centroids,
    spectral_clusters,
)
from modellab.models.weights import resolve_weights
from modellab.types import Audio, SpeakerTurn

__all__ = ["HeuristicDiarization", "HeuristicDiarizationOptions"]

RATE = 16_000
FRAME_S = 0.01  # resemblyzer's mel hop and the resolution of the output


@dataclass
class HeuristicDiarizationOptions:
    vad_threshold: float
    vad_min_speech_ms: int
    vad_min_silence_ms: int
    vad_pad_ms: int
    window_s: float  # clustering window
    hop_s: float
    min_cluster_s: float  # windows shorter than this are scored but not clustered
    reseg_window_s: float  # resegmentation window
    reseg_hop_s: float
    clustering: str  # spectral | agglomerative
    num_speakers: int | None  # null: estimated
    min_speakers: int
    max_speakers: int
    distance_threshold: float  # average linkage stops merging at this cosine distance
    min_turn_s: float
    overlap_margin: float | None  # null: one speaker per frame
    intra_op_threads: int


def _windows(regions: list[tuple[float, float]], length: float, hop: float) -> list[tuple[float, float]]:
    """Windows of ``length`` every ``hop`` inside each region; the last one flush with its end."""
    out: list[tuple[float, float]] = []
    for start, end in regions:
        if end - start <= length:
            out.append((start, end))
            continue
        t = start
        while t + length < end:
            out.append((t, t + length))
            t += hop
        out.append((end - length, end))
    return out


class HeuristicDiarization(DiarizationModel):
    Options = HeuristicDiarizationOptions

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the base signature
        super().__init__(*args, **kwargs)
        o = self.options
        where = f"conf/model/{self.name}.yaml options"
        if o.clustering not in ("spectral", "agglomerative"):
            raise ConfigError(f"{where}.clustering: must be 'spectral' or 'agglomerative', got {o.clustering!r}")
        if not 1 <= o.min_speakers <= o.max_speakers:
            raise ConfigError(
                f"{where}: need 1 <= min_speakers <= max_speakers, got {o.min_speakers}, {o.max_speakers}"
            )
        if o.num_speakers is not None and o.num_speakers < 1:
            raise ConfigError(f"{where}.num_speakers: must be null (estimate) or >= 1, got {o.num_speakers}")

    def load(self) -> None:
        from resemblyzer import VoiceEncoder
        from silero_vad import get_speech_timestamps, load_silero_vad

        path = resolve_weights(self.weights, self.name)
        self.encoder = VoiceEncoder(device="cpu", verbose=False, weights_fpath=path)
        self.encoder.eval()
        self.vad = load_silero_vad(onnx=False)
        self._timestamps = get_speech_timestamps

    # --- steps -------------------------------------------------------------------------------
    def speech_regions(self, wav: np.ndarray) -> list[tuple[float, float]]:
        import torch

        o = self.options
        stamps = self._timestamps(
            torch.from_numpy(wav),
            self.vad,
            threshold=o.vad_threshold,
            sampling_rate=RATE,
            min_speech_duration_ms=o.vad_min_speech_ms,
            min_silence_duration_ms=o.vad_min_silence_ms,
            speech_pad_ms=o.vad_pad_ms,
        )
        return [(s["start"] / RATE, s["end"] / RATE) for s in stamps]

    def embed(self, mel: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
        """One L2-normalised d-vector per window (windows of equal frame count share a batch)."""
        import torch

        spans = [
            (int(round(s / FRAME_S)), max(int(round(e / FRAME_S)), int(round(s / FRAME_S)) + 1)) for s, e in windows
        ]
        spans = [(min(a, len(mel) - 1), min(b, len(mel))) for a, b in spans]
        out = np.zeros((len(windows), self.encoder.linear.out_features), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(spans):
            by_length.setdefault(b - a, []).append(i)
        with torch.no_grad():
            for _, idx in by_length.items():
                batch = np.stack([mel[spans[i][0] : spans[i][1]] for i in idx])
                out[idx] = self.encoder(torch.from_numpy(batch)).numpy()
        return out

    def cluster(self, embeddings: np.ndarray) -> np.ndarray:
        o = self.options
        if o.clustering == "agglomerative":
            return agglomerative_clusters(embeddings, o.num_speakers, o.distance_threshold)
        k = o.num_speakers
        if k is None:
            eigengap = spectral_clusters(embeddings, None, o.min_speakers, o.max_speakers).max() + 1
            linkage = agglomerative_clusters(embeddings, None, o.distance_threshold).max() + 1
            k = int(min(max(min(eigengap, linkage), o.min_speakers), o.max_speakers))
        return spectral_clusters(embeddings, k, o.min_speakers, o.max_speakers)

    def resegment(
        self, n_frames: int, regions: list[tuple[float, float]], windows: list[tuple[float, float]], scores: np.ndarray
    ) -> np.ndarray:
        """(frames, speakers) activity: 1 where a speaker is assigned to a speech frame."""
        k = scores.shape[1]
        total = np.zeros((n_frames, k))
        weight = np.zeros(n_frames)
        for (s, e), score in zip(windows, scores, strict=True):
            a, b = int(round(s / FRAME_S)), min(n_frames, max(int(round(e / FRAME_S)), int(round(s / FRAME_S)) + 1))
            if b <= a:
                continue
            tri = 1.0 - np.abs(np.linspace(-1, 1, b - a + 2)[1:-1])  # triangular: trust window centres
            total[a:b] += tri[:, None] * score[None, :]
            weight[a:b] += tri
        activity = np.zeros((n_frames, k))
        for s, e in regions:
            a, b = int(round(s / FRAME_S)), min(n_frames, int(round(e / FRAME_S)))
            if b <= a:
                continue
            mean = total[a:b] / np.maximum(weight[a:b, None], 1e-9)
            best = np.argmax(mean, axis=1)
            best = self._absorb_short(best, int(round(self.options.min_turn_s / FRAME_S)))
            activity[np.arange(a, b), best] = 1.0
            if self.options.overlap_margin is not None and k > 1:
                ordered = np.sort(mean, axis=1)
                runner_up = np.argsort(mean, axis=1)[:, -2]
                close = (ordered[:, -1] - ordered[:, -2]) <= self.options.overlap_margin
                close = self._drop_short(close, int(round(self.options.min_turn_s / FRAME_S)))
                activity[np.arange(a, b)[close], runner_up[close]] = 1.0
        return activity

    @staticmethod
    def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
        runs = []
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                runs.append((start, i, int(labels[start])))
                start = i
        return runs

    def _absorb_short(self, labels: np.ndarray, min_frames: int) -> np.ndarray:
        """Runs shorter than ``min_frames`` take the label of their longer neighbour."""
        labels = labels.copy()
        for _ in range(10):
            runs = self._runs(labels)
            short = [r for r in runs if r[1] - r[0] < min_frames]
            if not short or len(runs) == 1:
                break
            for i, (a, b, _) in enumerate(runs):
                if b - a >= min_frames:
                    continue
                prev_len = runs[i - 1][1] - runs[i - 1][0] if i > 0 else -1
                next_len = runs[i + 1][1] - runs[i + 1][0] if i + 1 < len(runs) else -1
                labels[a:b] = runs[i - 1][2] if prev_len >= next_len else runs[i + 1][2]
        return labels

    def _drop_short(self, mask: np.ndarray, min_frames: int) -> np.ndarray:
        mask = mask.copy()
        for a, b, value in self._runs(mask.astype(int)):
            if value and b - a < min_frames:
                mask[a:b] = False
        return mask

    # --- the model call ----------------------------------------------------------------------
    def predict(self, inputs: Audio) -> list[SpeakerTurn]:
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        o = self.options
        wav = resample(inputs.samples, inputs.sample_rate, RATE)
        with torch_threads(o.intra_op_threads):
            regions = self.speech_regions(wav)
            if not regions:
                return []
            mel = wav_to_mel_spectrogram(normalize_volume(wav, -30, increase_only=True))
            windows = _windows(regions, o.window_s, o.hop_s)
            embeddings = self.embed(mel, windows)
            usable = np.array([e - s >= o.min_cluster_s for s, e in windows])
            if not usable.any():  # only short bursts: cluster what there is
                usable[:] = True
            labels = self.cluster(embeddings[usable])
            speakers = centroids(embeddings[usable], labels)
            reseg_windows = _windows(regions, o.reseg_window_s, o.reseg_hop_s)
            scores = self.embed(mel, reseg_windows) @ speakers.T
        n_frames = int(np.ceil(len(wav) / RATE / FRAME_S))
        activity = self.resegment(n_frames, regions, reseg_windows, scores)
        return self._turns(activity)

    def _turns(self, activity: np.ndarray) -> list[SpeakerTurn]:
        turns: list[SpeakerTurn] = []
        first_seen: dict[int, float] = {}
        for k in range(activity.shape[1]):
            for a, b, value in self._runs(activity[:, k].astype(int)):
                if value:
                    turns.append(SpeakerTurn(a * FRAME_S, b * FRAME_S, str(k)))
                    first_seen.setdefault(k, a * FRAME_S)
        names = {k: f"SPEAKER_{i:02d}" for i, k in enumerate(sorted(first_seen, key=first_seen.__getitem__))}
        turns = [SpeakerTurn(t.start, t.end, names[int(t.speaker)]) for t in turns]
        return sorted(turns, key=lambda t: (t.start, t.speaker))
