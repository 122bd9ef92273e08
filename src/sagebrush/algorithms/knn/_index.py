"""The k-NN model: sampled training points, their labels, and exact neighbour search.

SageMaker's k-NN keeps a sample of the training set in a faiss index and answers with the
labels of each query's k nearest sampled points. Here the search is exact, with
scikit-learn's ``NearestNeighbors`` (``faiss.IVFFlat`` and ``faiss.IVFPQ`` approximate it;
exact search is what those indexes aim for). Distances are reported nearest first:
Euclidean for ``L2``, cosine distance ``1 - cos`` for ``COSINE``, the negated inner product
for ``INNER_PRODUCT`` (larger products are nearer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors
from sklearn.random_projection import SparseRandomProjection

from sagebrush.algorithms.artifacts import load_arrays, save_arrays

# Inner products are searched a block of queries at a time, to bound the score matrix.
_QUERY_BLOCK = 1024


@dataclass(frozen=True)
class Neighbours:
    predicted: np.ndarray  # (rows,) float32: majority label or mean label
    distances: np.ndarray  # (rows, k) float32, ascending
    labels: np.ndarray  # (rows, k) float32: the neighbours' labels, in the same order


@dataclass(frozen=True)
class Index:
    features: np.ndarray  # (points, dims) float32: the sample, reduced when asked
    labels: np.ndarray  # (points,) float32
    k: int
    predictor_type: str  # classifier | regressor
    metric: str  # L2 | INNER_PRODUCT | COSINE
    feature_dim: int  # the width requests have, before any reduction
    projection: np.ndarray = field(  # (dims, feature_dim) float32, or (0, 0) for none
        default_factory=lambda: np.empty((0, 0), np.float32)
    )
    settings: dict[str, str] = field(default_factory=dict)  # other hyperparameters, as saved

    def query(self, rows: np.ndarray) -> Neighbours:
        """The k nearest sampled points of each row and the prediction they make."""
        points = self.reduce(np.asarray(rows, dtype=np.float32))
        if self.metric == "INNER_PRODUCT":
            distances, indices = self._by_inner_product(points)
        else:
            found = self._search.kneighbors(points, n_neighbors=self.k)
            distances, indices = found[0], found[1]
        labels = self.labels[indices]
        return Neighbours(self._predict(labels), distances.astype(np.float32), labels)

    def reduce(self, rows: np.ndarray) -> np.ndarray:
        if not self.projection.size:
            return rows
        return np.asarray(rows @ self.projection.T, dtype=np.float32)

    @cached_property
    def _search(self) -> NearestNeighbors:
        metric = "cosine" if self.metric == "COSINE" else "euclidean"
        return NearestNeighbors(n_neighbors=self.k, metric=metric).fit(self.features)

    def _by_inner_product(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        blocks = [
            _top_k(-(points[i : i + _QUERY_BLOCK] @ self.features.T), self.k)
            for i in range(0, len(points), _QUERY_BLOCK)
        ]
        return np.vstack([b[0] for b in blocks]), np.vstack([b[1] for b in blocks])

    def _predict(self, labels: np.ndarray) -> np.ndarray:
        if self.predictor_type == "regressor":
            return np.asarray(labels.mean(axis=1, dtype=np.float64), dtype=np.float32)
        # Majority vote; a tie goes to the smallest label, as scikit-learn's classifier does.
        classes, codes = np.unique(labels, return_inverse=True)
        codes = codes.reshape(labels.shape)
        rows = len(labels)
        flat = (np.arange(rows)[:, None] * len(classes) + codes).ravel()
        counts = np.bincount(flat, minlength=rows * len(classes)).reshape(rows, len(classes))
        return np.asarray(classes[counts.argmax(axis=1)], dtype=np.float32)

    # -- the artifact ------------------------------------------------------------------

    def save(self, model_dir: Path) -> None:
        """The model file (no pickle) in ``model_dir``."""
        arrays: dict[str, Any] = {
            "features": self.features,
            "labels": self.labels,
            "projection": self.projection,
            "k": np.int64(self.k),
            "predictor_type": np.str_(self.predictor_type),
            "index_metric": np.str_(self.metric),
            "feature_dim": np.int64(self.feature_dim),
        }
        arrays.update({name: np.str_(value) for name, value in self.settings.items()})
        save_arrays(model_dir, arrays)

    @classmethod
    def load(cls, model_dir: Path) -> Index:
        archive = load_arrays(model_dir, "k-NN")
        known = {"features", "labels", "projection", "k", "predictor_type"}
        known |= {"index_metric", "feature_dim"}
        return cls(
            features=archive["features"],
            labels=archive["labels"],
            k=int(archive["k"]),
            predictor_type=str(archive["predictor_type"]),
            metric=str(archive["index_metric"]),
            feature_dim=int(archive["feature_dim"]),
            projection=archive["projection"],
            settings={n: str(v) for n, v in archive.items() if n not in known},
        )


def _top_k(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest of each row, ascending (ties by column), and their columns."""
    if k < distances.shape[1]:
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    else:
        nearest = np.broadcast_to(np.arange(distances.shape[1]), distances.shape)
    picked = np.take_along_axis(distances, nearest, axis=1)
    order = np.lexsort((nearest, picked), axis=1)
    return np.take_along_axis(picked, order, axis=1), np.take_along_axis(nearest, order, axis=1)


def sample(rows: int, size: int, seed: int) -> np.ndarray:
    """Row indices of a uniform sample without replacement (all rows when ``size`` covers them)."""
    if size >= rows:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def projection(kind: str, target: int, features: np.ndarray, seed: int) -> np.ndarray:
    """The (target, feature_dim) random projection matrix of a dimension reduction type.

    ``sign``: every entry +-1/sqrt(target) (a dense sign random projection);
    ``fjlt``: the sparse Johnson-Lindenstrauss projection of Li, Hastie and Church (2006),
    entries +-sqrt(s/target) with probability 1/s, s = sqrt(feature_dim) — scikit-learn's
    fast JL transform, standing in for the Hadamard-based FJLT with the same distance
    guarantee.
    """
    density: float | str = 1.0 if kind == "sign" else "auto"
    reducer = SparseRandomProjection(n_components=target, density=density, random_state=seed)
    reducer.fit(features[:1])
    matrix = reducer.components_  # dense when density is 1, else sparse
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float32)
