"""Clustering of speaker embeddings with the number of speakers given or estimated.

- ``spectral_clusters``: auto-tuned spectral clustering (NME-SC, Park et al. 2019): the cosine
  affinity is pruned to each row's ``p`` nearest neighbours, ``p`` chosen to minimise
  ``p / normalised max eigengap``; the speaker count is the position of the largest eigengap
  of the graph Laplacian; k-means on the spectral embedding assigns the labels.
- ``agglomerative_clusters``: average-linkage clustering on cosine distance, cut at a distance
  threshold (or at ``k`` clusters).
- ``merge_similar``: merge clusters whose centroids are more similar than a threshold (catches
  one speaker split in two, and lets a single-speaker file come out as one speaker).

Inputs are L2-normalised embeddings (one row each); labels are ``0 .. k-1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["agglomerative_clusters", "centroids", "merge_similar", "spectral_clusters"]


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """L2-normalised mean embedding per label (rows in label order ``0 .. max``)."""
    out = np.stack([embeddings[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered ``0 .. k-1`` in order of first appearance."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=int)


def _laplacian_spectrum(affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    return values, vectors


def _prune(similarity: np.ndarray, p: int) -> np.ndarray:
    """Keep each row's ``p`` largest similarities as 1, the rest 0; symmetrise."""
    n = len(similarity)
    binary = np.zeros_like(similarity)
    top = np.argsort(-similarity, axis=1)[:, :p]
    binary[np.repeat(np.arange(n), p), top.ravel()] = 1.0
    return (binary + binary.T) / 2


def spectral_clusters(
    embeddings: np.ndarray, num_speakers: int | None, min_speakers: int, max_speakers: int, seed: int = 0
) -> np.ndarray:
    """NME-SC labels for ``embeddings``; ``num_speakers`` fixes k, else it is estimated."""
    from sklearn.cluster import KMeans

    n = len(embeddings)
    if n <= 1:
        return np.zeros(n, dtype=int)
    max_k = max(1, min(max_speakers, n - 1))
    min_k = max(1, min(min_speakers, max_k))
    similarity = embeddings @ embeddings.T
    best: tuple[float, int, np.ndarray] | None = None
    for p in range(2, max(3, n // 4 + 1)):
        if p >= n:
            break
        values, vectors = _laplacian_spectrum(_prune(similarity, p))
        gaps = np.diff(values[: max_k + 1])
        if num_speakers is not None:
            k = min(num_speakers, n)
        else:
            k = int(np.argmax(gaps[min_k - 1 : max_k])) + min_k
        gap = gaps[k - 1] if k - 1 < len(gaps) else 0.0
        normalised = gap / max(float(values[-1]), 1e-12)
        ratio = p / max(normalised, 1e-12)
        if best is None or ratio < best[0]:
            best = (ratio, k, vectors[:, :k])
    if best is None:  # too few embeddings to prune: plain affinity
        values, vectors = _laplacian_spectrum(np.clip(similarity, 0.0, None))
        k = min(num_speakers or min_k, n)
        best = (0.0, k, vectors[:, :k])
    _, k, spectral = best
    if k <= 1:
        return np.zeros(n, dtype=int)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(spectral)
    return _relabel(labels)


def agglomerative_clusters(embeddings: np.ndarray, num_speakers: int | None, distance_threshold: float) -> np.ndarray:
    """Average-linkage labels on cosine distance: ``num_speakers`` clusters, or cut at the threshold."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n <= 1:
        return np.zeros(n, dtype=int)
    tree = linkage(embeddings, method="average", metric="cosine")
    if num_speakers is not None:
        labels = fcluster(tree, t=min(num_speakers, n), criterion="maxclust")
    else:
        labels = fcluster(tree, t=distance_threshold, criterion="distance")
    return _relabel(labels - 1)


def merge_similar(embeddings: np.ndarray, labels: np.ndarray, min_similarity: float) -> np.ndarray:
    """Merge, most similar pair first, clusters whose centroids' cosine similarity ≥ ``min_similarity``."""
    labels = labels.copy()
    while labels.max() > 0:
        c = centroids(embeddings, labels)
        sim = c @ c.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
        if sim[i, j] < min_similarity:
            break
        labels[labels == max(i, j)] = min(i, j)
        labels = _relabel(labels)
    return labels
