"""The PCA model: its arrays, their file, and projecting records onto them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sagebrush.algorithms.artifacts import load_arrays, save_arrays


@dataclass(frozen=True)
class PcaModel:
    s: np.ndarray  # (num_components,) singular values, ascending
    v: np.ndarray  # (feature_dim, num_components), column i belongs to s[i]
    mean: np.ndarray  # (1, feature_dim), zeros when the mean is not subtracted

    @property
    def feature_dim(self) -> int:
        return int(self.v.shape[0])

    @property
    def num_components(self) -> int:
        return int(self.v.shape[1])

    def project(self, features: np.ndarray) -> np.ndarray:
        """Each row's coordinates on the components, as float32 (SageMaker's precision)."""
        centered = np.asarray(features, dtype=np.float64) - self.mean.astype(np.float64)
        return (centered @ self.v.astype(np.float64)).astype(np.float32)

    def reconstruct(self, projections: np.ndarray) -> np.ndarray:
        v = self.v.astype(np.float64)
        return np.asarray(projections, dtype=np.float64) @ v.T + self.mean.astype(np.float64)

    def save(self, model_dir: Path) -> Path:
        return save_arrays(model_dir, {"s": self.s, "v": self.v, "mean": self.mean})

    @classmethod
    def load(cls, model_dir: Path) -> PcaModel:
        arrays = load_arrays(model_dir, "PCA")
        s, v, mean = (arrays.get(key, np.empty(0)) for key in ("s", "v", "mean"))
        if v.ndim != 2 or s.shape != (v.shape[1],) or mean.shape != (1, v.shape[0]):
            raise ValueError(
                f"{model_dir} holds no PCA model: s {s.shape}, v {v.shape}, mean {mean.shape}"
            )
        return cls(s=s, v=v, mean=mean)
