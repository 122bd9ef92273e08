"""Rows of features with their labels, as every reader here returns them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Dataset:
    features: np.ndarray | sp.csr_matrix
    labels: np.ndarray | None  # 1-D for one label per row, 2-D for label_size > 1

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def width(self) -> int:
        return int(self.features.shape[1])

    def dense(self, dtype: type = np.float32) -> np.ndarray:
        if isinstance(self.features, sp.spmatrix | sp.sparray):
            return np.asarray(self.features.toarray(), dtype=dtype)
        return np.asarray(self.features, dtype=dtype)
