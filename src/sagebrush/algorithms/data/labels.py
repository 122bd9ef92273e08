"""Supervised data as the algorithms train on it: rows of one width, one label each."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data._dataset import Dataset
from sagebrush.algorithms.data.loading import widen
from sagebrush.algorithms.errors import ClientError

Matrix: TypeAlias = np.ndarray | sp.csr_matrix


def labelled(dataset: Dataset, channel: str, width: int) -> tuple[Matrix, np.ndarray]:
    """Float64 features (sparse kept sparse, widened to ``width``) and labels, checked.

    Sparse records name only the features they use, so a narrower sparse matrix is
    widened; anything else of another width, non-finite values, or records without
    exactly one label are the user's data to fix.
    """
    features: Matrix
    if sp.issparse(dataset.features):
        features = sp.csr_matrix(dataset.features, dtype=np.float64)
        if features.shape[1] < width:
            features = widen(features, width)
        values = features.data
    else:
        features = np.asarray(dataset.features, dtype=np.float64)
        values = features
    if features.shape[1] != width:
        raise ClientError(
            f"Channel '{channel}' has {features.shape[1]} features per record; "
            f"expected {width} (feature_dim)"
        )
    if not np.all(np.isfinite(values)):
        raise ClientError(f"Channel '{channel}' has missing or non-finite feature values")
    if dataset.labels is None or np.asarray(dataset.labels).ndim != 1:
        raise ClientError(f"Channel '{channel}' needs one label per record")
    labels = np.asarray(dataset.labels, dtype=np.float64)
    if not np.all(np.isfinite(labels)):
        raise ClientError(f"Channel '{channel}' has missing or non-finite labels")
    return features, labels


def require_binary(labels: np.ndarray, channel: str) -> None:
    """A binary classifier's labels are 0 or 1."""
    wrong = labels[(labels != 0) & (labels != 1)]
    if len(wrong):
        raise ClientError(
            f"Channel '{channel}': labels of a binary_classifier must be 0 or 1; found {wrong[0]:g}"
        )
