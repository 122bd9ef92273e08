"""The K-Means model: its centers, their file, and assigning records to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from sagebrush.algorithms.artifacts import load_arrays, save_arrays


@dataclass(frozen=True)
class KMeansModel:
    centers: np.ndarray  # (k, feature_dim) float32

    @property
    def k(self) -> int:
        return int(self.centers.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.centers.shape[1])

    def assign(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's closest center and its Euclidean distance to it."""
        return closest(features, self.centers)

    def save(self, model_dir: Path) -> Path:
        return save_arrays(model_dir, {"centers": self.centers})

    @classmethod
    def load(cls, model_dir: Path) -> KMeansModel:
        centers = load_arrays(model_dir, "K-Means").get("centers", np.empty(0))
        if centers.ndim != 2 or not len(centers):
            raise ValueError(f"{model_dir} holds no K-Means model: centers {centers.shape}")
        return cls(centers=centers)


def closest(features: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the closest center, row by row (float64)."""
    index, distance = pairwise_distances_argmin_min(
        np.asarray(features, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    )
    return np.asarray(index), np.asarray(distance, dtype=np.float64)
