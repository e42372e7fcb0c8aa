"""Datasets: manifests, corpora layouts, builders of the embedded sets."""

from modellab.datasets.base import Dataset, DatasetError, DatasetNotAvailableError
from modellab.datasets.manifest import ManifestDataset

__all__ = ["Dataset", "DatasetError", "DatasetNotAvailableError", "ManifestDataset"]
