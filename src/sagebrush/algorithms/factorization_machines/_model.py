"""The factorization machine: its prediction, gradients and artifact ``model_algo-1``.

For a row ``x`` of ``feature_dim`` values::

    y(x) = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j

with ``v_i`` the ``num_factors``-long row ``i`` of ``V``. The pairwise sum is computed
in O(nnz * k) with Rendle's identity::

    sum_{i<j} <v_i, v_j> x_i x_j = 1/2 * sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

on dense rows or scipy CSR rows alike. ``binary_classifier`` reads ``y`` as a logit
(``score = sigmoid(y)``, label 1 when the score passes 0.5); ``regressor`` answers ``y``.

The artifact is a numpy ``.npz`` (no pickle) under SageMaker's file name: ``w0`` (),
``w`` (feature_dim,), ``V`` (feature_dim, num_factors), ``predictor_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.artifacts import load_arrays, save_arrays
from sagebrush.algorithms.factorization_machines._params import BINARY

Matrix: TypeAlias = np.ndarray | sp.csr_matrix


@dataclass(frozen=True)
class FactorizationMachine:
    predictor_type: str
    w0: float
    w: np.ndarray
    V: np.ndarray

    @property
    def feature_dim(self) -> int:
        return int(self.w.shape[0])

    def raw(self, features: Matrix, squares: Matrix | None = None) -> np.ndarray:
        """``y(x)`` for every row; ``squares`` (features squared) saves recomputing it."""
        return forward(self.w0, self.w, self.V, features, squares)[0]

    def scores(self, raw: np.ndarray) -> np.ndarray:
        return sigmoid(raw) if self.predictor_type == BINARY else raw

    def labels(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(scores > 0.5, dtype=np.float64)

    def save(self, folder: Path) -> Path:
        arrays = {
            "w0": np.float64(self.w0),
            "w": self.w,
            "V": self.V,
            "predictor_type": np.str_(self.predictor_type),
        }
        return save_arrays(folder, arrays)

    @classmethod
    def load(cls, folder: Path) -> FactorizationMachine:
        data = load_arrays(folder, "Factorization Machines")
        return cls(
            predictor_type=str(data["predictor_type"]),
            w0=float(data["w0"]),
            w=np.asarray(data["w"], dtype=np.float64),
            V=np.asarray(data["V"], dtype=np.float64),
        )


def squared(features: Matrix) -> Matrix:
    if isinstance(features, np.ndarray):
        return features**2
    return sp.csr_matrix(features.multiply(features))


def forward(
    w0: float, w: np.ndarray, V: np.ndarray, features: Matrix, squares: Matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``y(x)`` per row, and ``x @ V`` (rows x factors), which the gradient reuses."""
    squares = squared(features) if squares is None else squares
    xv = np.asarray(features @ V)
    pairwise = 0.5 * np.sum(xv**2 - np.asarray(squares @ (V**2)), axis=1)
    return w0 + np.asarray(features @ w).ravel() + pairwise, xv


def gradients(
    V: np.ndarray, features: Matrix, squares: Matrix, xv: np.ndarray, outer: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Summed gradients of the rows' losses, given ``outer`` = dLoss/dy per row.

    dy/dw0 = 1, dy/dw_i = x_i, dy/dv_if = x_i (x @ V)_f - v_if x_i^2.
    """
    grad_w0 = float(outer.sum())
    grad_w = np.asarray(features.T @ outer).ravel()
    grad_v = np.asarray(features.T @ (outer[:, None] * xv)) - V * np.asarray(
        squares.T @ outer
    ).reshape(-1, 1)
    return grad_w0, grad_w, grad_v


def sigmoid(raw: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * raw))  # overflow-free logistic
    return out
