"""Epoch-by-epoch SGD with Linear Learner's schedule and early stopping.

Each epoch shuffles the rows and feeds them to scikit-learn's ``partial_fit`` in
``mini_batch_size`` chunks. With ``use_lr_scheduler`` the step size starts at
``learning_rate`` and is multiplied by ``lr_scheduler_factor`` every
``lr_scheduler_step`` mini-batches (auto: once an epoch), never going below
``lr_scheduler_minimum_lr``. After each epoch the objective is measured on the
validation data (training data when there is none); training stops when it has not
improved by ``early_stopping_tolerance`` (relative) for ``early_stopping_patience``
epochs, and the best epoch's model is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier, SGDRegressor

from sagebrush.algorithms.linear_learner._params import Settings

Coefficients = tuple[np.ndarray, np.ndarray]  # weights, bias (normalised space)
History = list[tuple[float, float | None]]  # (train, validation) objective per epoch


def fit_epochs(
    estimator: SGDClassifier | SGDRegressor,
    settings: Settings,
    features: np.ndarray | sp.csr_matrix,
    labels: np.ndarray,
    weights: np.ndarray,
    *,
    monitor: Callable[[Coefficients], tuple[float, float | None]],
) -> tuple[Coefficients, History]:
    rows = features.shape[0]
    batch = settings.mini_batch_size
    step = settings.lr_scheduler_step or max(1, math.ceil(rows / batch))
    rate = settings.learning_rate
    updates = 0
    shuffle = np.random.default_rng(0)
    extra = {"classes": np.array([0, 1])} if isinstance(estimator, SGDClassifier) else {}
    history: History = []
    best: Coefficients | None = None
    best_value = math.inf
    stale = 0
    for _ in range(settings.epochs):
        order = shuffle.permutation(rows)
        for start in range(0, rows, batch):
            chosen = order[start : start + batch]
            estimator.set_params(eta0=rate)
            estimator.partial_fit(
                features[chosen], labels[chosen], sample_weight=weights[chosen], **extra
            )
            updates += 1
            if settings.use_lr_scheduler and updates % step == 0:
                rate = max(rate * settings.lr_scheduler_factor, settings.lr_scheduler_minimum_lr)
        current = _coefficients(estimator)
        train_value, validation_value = monitor(current)
        history.append((train_value, validation_value))
        value = train_value if validation_value is None else validation_value
        if not math.isfinite(value):
            raise FloatingPointError(f"the objective became {value}")
        if best is None or best_value - value > settings.tolerance * abs(best_value):
            best, best_value, stale = current, value, 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    assert best is not None
    return best, history


def _coefficients(estimator: SGDClassifier | SGDRegressor) -> Coefficients:
    coef = np.array(estimator.coef_, dtype=np.float64).reshape(-1)
    intercept = np.asarray(float(np.ravel(estimator.intercept_)[0]))
    return coef, intercept
