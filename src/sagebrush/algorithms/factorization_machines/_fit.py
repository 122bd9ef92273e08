"""Minibatch training of a factorization machine with Adam, as MXNet's optimiser does it.

Loss: logistic (cross-entropy on ``sigmoid(y)``) for ``binary_classifier``, squared
error ``(y - label)^2 / 2`` for ``regressor``. Each mini-batch's summed gradient is
multiplied by ``rescale_grad`` (default ``1 / batch size``: the mean), clipped to
``[-clip_gradient, clip_gradient]`` when set, and the term's weight decay
(``bias_wd``, ``linear_wd``, ``factors_wd``) added as ``wd * parameter``; Adam
(beta1 0.9, beta2 0.999, ``eps``) then steps each term with its own learning rate
(``bias_lr``, ``linear_lr``, ``factors_lr``). Rows are shuffled each epoch with a fixed
seed, so a job trains the same model every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sagebrush.algorithms.factorization_machines._model import (
    FactorizationMachine,
    Matrix,
    forward,
    gradients,
    sigmoid,
    squared,
)
from sagebrush.algorithms.factorization_machines._params import BINARY, Settings, Term

_BETA1, _BETA2 = 0.9, 0.999


@dataclass
class _Adam:
    """One term's parameters with its Adam moments."""

    value: np.ndarray
    term: Term
    first: np.ndarray = field(init=False)
    second: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.first = np.zeros_like(self.value)
        self.second = np.zeros_like(self.value)

    def step(
        self, gradient: np.ndarray, scale: float, clip: float | None, eps: float, t: int
    ) -> None:
        grad = gradient * scale
        if clip is not None:
            grad = np.clip(grad, -clip, clip)
        grad = grad + self.term.wd * self.value
        self.first = _BETA1 * self.first + (1.0 - _BETA1) * grad
        self.second = _BETA2 * self.second + (1.0 - _BETA2) * grad**2
        rate = self.term.lr * np.sqrt(1.0 - _BETA2**t) / (1.0 - _BETA1**t)
        self.value = self.value - rate * self.first / (np.sqrt(self.second) + eps)


def fit(
    settings: Settings,
    features: Matrix,
    labels: np.ndarray,
    after_epoch: Callable[[int, FactorizationMachine], None],
) -> FactorizationMachine:
    random = np.random.default_rng(0)
    width, factors = settings.feature_dim, settings.num_factors
    bias = _Adam(settings.bias.init.draw(random, (1,)), settings.bias)
    linear = _Adam(settings.linear.init.draw(random, (width,)), settings.linear)
    pairs = _Adam(settings.factors.init.draw(random, (width, factors)), settings.factors)
    squares = squared(features)
    rows = features.shape[0]
    batch = settings.mini_batch_size
    t = 0
    for epoch in range(settings.epochs):
        order = random.permutation(rows)
        # Divergence shows as non-finite parameters, checked after the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, rows, batch):
                chosen = np.sort(order[start : start + batch])  # sorted: faster CSR slicing
                x, x2, y = features[chosen], squares[chosen], labels[chosen]
                raw, xv = forward(float(bias.value[0]), linear.value, pairs.value, x, x2)
                outer = (sigmoid(raw) if settings.predictor_type == BINARY else raw) - y
                grad_w0, grad_w, grad_v = gradients(pairs.value, x, x2, xv, outer)
                scale = settings.rescale_grad or 1.0 / len(chosen)
                t += 1
                steps = ((bias, np.array([grad_w0])), (linear, grad_w), (pairs, grad_v))
                for state, gradient in steps:
                    state.step(gradient, scale, settings.clip_gradient, settings.eps, t)
        model = _model(settings, bias, linear, pairs)
        if not all(np.all(np.isfinite(p)) for p in (bias.value, model.w, model.V)):
            raise FloatingPointError(f"the parameters became non-finite in epoch {epoch}")
        after_epoch(epoch, model)
    return _model(settings, bias, linear, pairs)


def _model(settings: Settings, bias: _Adam, linear: _Adam, pairs: _Adam) -> FactorizationMachine:
    return FactorizationMachine(
        settings.predictor_type, float(bias.value[0]), linear.value.copy(), pairs.value.copy()
    )
