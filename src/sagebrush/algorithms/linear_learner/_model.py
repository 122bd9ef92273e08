"""A trained linear model in the raw feature space, and its artifact ``model_algo-1``.

The artifact is a numpy ``.npz`` archive (no pickle) under SageMaker's file name::

    model = np.load("model_algo-1")
    model["weights"]         # (feature_dim,) or (feature_dim, num_classes) float64
    model["bias"]            # () or (num_classes,)
    model["threshold"]       # binary classifiers: score above it -> label 1
    model["predictor_type"], model["loss"]   # strings

Normalisation learnt in training is folded into the weights, so ``x @ weights + bias``
is the raw score for an unnormalised row ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.artifacts import load_arrays, save_arrays
from sagebrush.algorithms.linear_learner._params import BINARY, MULTICLASS


@dataclass(frozen=True)
class LinearModel:
    predictor_type: str
    loss: str
    weights: np.ndarray
    bias: np.ndarray
    threshold: float = 0.5

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    def raw(self, features: np.ndarray | sp.csr_matrix) -> np.ndarray:
        """``x @ w + b`` per row: a vector, or rows x classes for multiclass."""
        product = np.asarray(features @ self.weights, dtype=np.float64)
        raw: np.ndarray = product + self.bias
        return raw

    def scores(self, raw: np.ndarray) -> np.ndarray:
        """What SageMaker answers as ``score``: probabilities for logistic and softmax."""
        if self.predictor_type == MULTICLASS:
            shifted = raw - raw.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            return np.asarray(exp / exp.sum(axis=1, keepdims=True))
        if self.loss == "logistic":
            return sigmoid(raw)
        return raw

    def labels(self, scores: np.ndarray) -> np.ndarray:
        if self.predictor_type == MULTICLASS:
            return np.asarray(scores.argmax(axis=1), dtype=np.float64)
        return np.asarray(scores > self.threshold, dtype=np.float64)

    def with_threshold(self, threshold: float) -> LinearModel:
        return LinearModel(self.predictor_type, self.loss, self.weights, self.bias, threshold)

    def save(self, folder: Path) -> Path:
        arrays = {
            "weights": self.weights,
            "bias": self.bias,
            "threshold": np.float64(self.threshold),
            "predictor_type": np.str_(self.predictor_type),
            "loss": np.str_(self.loss),
        }
        return save_arrays(folder, arrays)

    @classmethod
    def load(cls, folder: Path) -> LinearModel:
        data = load_arrays(folder, "Linear Learner")
        return cls(
            predictor_type=str(data["predictor_type"]),
            loss=str(data["loss"]),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=np.asarray(data["bias"], dtype=np.float64),
            threshold=float(data["threshold"]),
        )


def sigmoid(raw: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * raw))  # overflow-free logistic
    return out


def default_threshold(predictor_type: str, loss: str) -> float:
    """0.5 on a probability; 0 on a hinge-loss margin."""
    return 0.5 if predictor_type == BINARY and loss == "logistic" else 0.0
