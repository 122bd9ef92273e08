"""One linear model fitted with scikit-learn on normalised data, for one regularisation.

Linear Learner minimises ``mean(loss) + wd/2 * |w|^2 + l1 * |w|_1`` (the bias is not
regularised). Each loss goes to the scikit-learn estimator for that objective, its
penalty rescaled to the same strength — an exact solver where scikit-learn has one:

==============================  ============================================================
loss                            estimator
==============================  ============================================================
logistic, softmax_loss          LogisticRegression (lbfgs; saga with an l1 part)
squared_loss                    LinearRegression / Ridge / ElasticNet
absolute_loss, quantile_loss    QuantileRegressor (l1 only; absolute_loss with wd: SGD)
hinge_loss                      SGDClassifier (margin rescaled; margin 0 is the perceptron)
huber_loss, eps_insensitive_*   SGDRegressor (huber / epsilon-insensitive losses)
==============================  ============================================================

Exact solvers run to convergence; the SGD ones (averaged SGD) run epoch by epoch
(``_sgd``), with early stopping. ``Coefficients`` are in the normalised space;
``Scaling`` folds them back into the raw one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    ElasticNet,
    LinearRegression,
    LogisticRegression,
    QuantileRegressor,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)

from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.linear_learner._params import MULTICLASS, Settings
from sagebrush.algorithms.linear_learner._sgd import Coefficients, History, fit_epochs

Matrix: TypeAlias = np.ndarray | sp.csr_matrix
# coefficients -> (train objective, validation objective or None), for logs and stopping
Monitor = Callable[[Coefficients], tuple[float, float | None]]

_SGD_LOSSES = {
    "huber_loss": "huber",
    "eps_insensitive_squared_loss": "squared_epsilon_insensitive",
    "eps_insensitive_absolute_loss": "epsilon_insensitive",
    "absolute_loss": "epsilon_insensitive",  # with epsilon 0
}


@dataclass(frozen=True)
class Candidate:
    wd: float
    l1: float
    positive_weight: float | str = 1.0  # binary classifiers: a number or "balanced"


@dataclass(frozen=True)
class Scaling:
    """Feature and label normalisation, learnt on the first ``num_point_for_scaler`` rows."""

    mean: np.ndarray
    scale: np.ndarray
    label_mean: float = 0.0
    label_scale: float = 1.0

    @classmethod
    def learn(cls, settings: Settings, features: Matrix, labels: np.ndarray) -> Scaling:
        sample = features[: settings.num_point_for_scaler]
        width = features.shape[1]
        mean, scale = np.zeros(width), np.ones(width)
        if settings.normalize_data or settings.unbias_data:
            if isinstance(sample, np.ndarray):
                first = sample.mean(axis=0)
                second = np.mean(sample**2, axis=0)
            else:
                first = np.asarray(sample.mean(axis=0)).ravel()
                second = np.asarray(sample.multiply(sample).mean(axis=0)).ravel()
            std = np.sqrt(np.maximum(second - first**2, 0.0))
            if settings.unbias_data and not sp.issparse(sample):
                mean = first  # sparse data is scaled but not centred, so it stays sparse
            if settings.normalize_data:
                scale = np.where(std > 1e-12, std, 1.0)
        label_mean, label_scale = 0.0, 1.0
        head = labels[: settings.num_point_for_scaler]
        if settings.unbias_label:
            label_mean = float(head.mean())
        if settings.normalize_label:
            spread = float(head.std())
            label_scale = spread if spread > 1e-12 else 1.0
        return cls(mean, scale, label_mean, label_scale)

    def features(self, matrix: Matrix) -> Matrix:
        if sp.issparse(matrix):
            return sp.csr_matrix(matrix @ sp.diags(1.0 / self.scale))
        return (np.asarray(matrix, dtype=np.float64) - self.mean) / self.scale

    def labels(self, labels: np.ndarray) -> np.ndarray:
        return (labels - self.label_mean) / self.label_scale

    def fold(self, coefficients: Coefficients) -> tuple[np.ndarray, np.ndarray]:
        """Weights and bias that give the same scores on raw rows and raw labels."""
        coef, intercept = coefficients
        scale = self.scale if coef.ndim == 1 else self.scale[:, None]
        weights = coef / scale * self.label_scale
        bias = (intercept - self.mean @ (coef / scale)) * self.label_scale + self.label_mean
        return weights, np.asarray(bias, dtype=np.float64)


def fit(
    settings: Settings,
    candidate: Candidate,
    features: Matrix,
    labels: np.ndarray,
    monitor: Monitor,
) -> tuple[Coefficients, History]:
    """Coefficients in the normalised space, and the objective by epoch."""
    weights = _sample_weights(settings, candidate, labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            sgd = _sgd_estimator(settings, candidate)
            if sgd is not None:
                # Hinge loss with margin m is fitted as margin 1 on w/m (see _penalty).
                hinge = settings.loss == "hinge_loss" and settings.margin > 0
                m = settings.margin if hinge else 1.0

                def rescale(c: Coefficients) -> Coefficients:
                    return c[0] * m, c[1] * m

                coefficients, history = fit_epochs(
                    sgd, settings, features, labels, weights, monitor=lambda c: monitor(rescale(c))
                )
                coefficients = rescale(coefficients)
            else:
                coefficients = _fit_exact(settings, candidate, features, labels, weights)
                coefficients = _full_classes(settings, coefficients, labels)
                history = [monitor(coefficients)]
        except FloatingPointError as exc:
            raise ClientError(
                f"Training diverged ({exc}): lower learning_rate or normalise the data"
            ) from None
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            print(f"[linear-learner] {candidate}: {warning.message}", flush=True)
    return coefficients, history


def _sample_weights(settings: Settings, candidate: Candidate, labels: np.ndarray) -> np.ndarray:
    weights = np.ones(len(labels))
    if settings.predictor_type == MULTICLASS and settings.balance_multiclass_weights:
        classes, counts = np.unique(labels, return_counts=True)
        per_class = len(labels) / (len(classes) * counts)
        weights = per_class[np.searchsorted(classes, labels)]
    elif settings.classifier and settings.predictor_type != MULTICLASS:
        multiplier = candidate.positive_weight
        if multiplier == "balanced":
            positives = float(labels.sum())
            multiplier = (len(labels) - positives) / max(positives, 1.0)
        weights = np.where(labels == 1, float(multiplier), 1.0)
    return weights


def _penalty(settings: Settings, candidate: Candidate) -> dict[str, object]:
    strength = candidate.wd + candidate.l1
    if settings.loss == "hinge_loss":
        strength = candidate.wd * max(settings.margin, 1e-12) + candidate.l1
    if strength <= 0:
        return {"penalty": None}
    return {"penalty": "elasticnet", "alpha": strength, "l1_ratio": candidate.l1 / strength}


def _sgd_estimator(settings: Settings, candidate: Candidate) -> SGDClassifier | SGDRegressor | None:
    common = {
        "learning_rate": "constant",
        "eta0": settings.learning_rate,
        "fit_intercept": settings.use_bias,
        # Averaged SGD: the mean iterate of a short run lands near the optimum, where the
        # last iterate of plain SGD still wanders by a step size.
        "average": True,
        "random_state": 0,
        **_penalty(settings, candidate),
    }
    if settings.loss == "hinge_loss":
        loss = "hinge" if settings.margin > 0 else "perceptron"
        return SGDClassifier(loss=loss, **common)
    if settings.loss == "absolute_loss" and candidate.wd == 0:
        return None
    if settings.loss in _SGD_LOSSES:
        epsilon = {
            "huber_loss": settings.huber_delta,
            "absolute_loss": 0.0,
        }.get(settings.loss, settings.loss_insensitivity)
        return SGDRegressor(loss=_SGD_LOSSES[settings.loss], epsilon=epsilon, **common)
    return None


def _fit_exact(
    settings: Settings,
    candidate: Candidate,
    features: Matrix,
    labels: np.ndarray,
    weights: np.ndarray,
) -> Coefficients:
    n = features.shape[0]
    wd, l1 = candidate.wd, candidate.l1
    intercept = settings.use_bias
    if settings.classifier:
        strength = wd + l1
        # C * sum(loss) + l1_ratio |w|_1 + (1 - l1_ratio)/2 |w|^2, divided by C n.
        classifier = LogisticRegression(
            C=np.inf if strength == 0 else 1.0 / (strength * n),
            l1_ratio=0.0 if strength == 0 else l1 / strength,
            solver="lbfgs" if l1 == 0 else "saga",
            max_iter=1000,
            fit_intercept=intercept,
        )
        classifier.fit(features, labels.astype(np.int64), sample_weight=weights)
        coef = classifier.coef_.T
        return (coef[:, 0] if coef.shape[1] == 1 else coef), np.asarray(classifier.intercept_)
    regressor: LinearRegression | Ridge | ElasticNet | QuantileRegressor
    if settings.loss == "squared_loss":
        if wd == 0 and l1 == 0:
            regressor = LinearRegression(fit_intercept=intercept)
        elif l1 == 0:
            # |y - Xw|^2 + alpha |w|^2 is n times mean((y - Xw)^2) + wd/2 |w|^2.
            regressor = Ridge(alpha=n * wd / 2.0, fit_intercept=intercept)
        else:
            # 1/(2n)|y - Xw|^2 + alpha(rho |w|_1 + (1 - rho)/2 |w|^2) is half the objective.
            regressor = ElasticNet(
                alpha=(wd + l1) / 2.0,
                l1_ratio=l1 / (wd + l1),
                fit_intercept=intercept,
                max_iter=10000,
            )
    else:
        quantile = settings.quantile if settings.loss == "quantile_loss" else 0.5
        # Pinball loss at 0.5 is half the absolute loss: halve the l1 weight with it.
        alpha = l1 if settings.loss == "quantile_loss" else l1 / 2.0
        regressor = QuantileRegressor(
            quantile=quantile, alpha=alpha, fit_intercept=intercept, solver="highs"
        )
    regressor.fit(features, labels)
    return np.asarray(regressor.coef_, dtype=np.float64), np.asarray(float(regressor.intercept_))


def _full_classes(
    settings: Settings, coefficients: Coefficients, labels: np.ndarray
) -> Coefficients:
    """(features x num_classes) weights, when training saw only some of the classes."""
    if settings.predictor_type != MULTICLASS:
        coef, intercept = coefficients
        return coef, np.asarray(float(np.ravel(intercept)[0]))
    coef, intercept = coefficients
    classes = np.unique(labels).astype(np.int64)
    width = coef.shape[0]
    weights = np.zeros((width, settings.num_classes))
    bias = np.full(settings.num_classes, -np.inf)
    if len(classes) == 2:
        # scikit-learn fits one logistic model for two classes: softmax of [0, z].
        weights[:, classes[1]] = coef
        bias[classes[0]], bias[classes[1]] = 0.0, float(np.ravel(intercept)[0])
    else:
        weights[:, classes] = coef
        bias[classes] = intercept
    # A class never seen in training gets no probability worth predicting.
    bias[np.isinf(bias)] = np.min(bias[np.isfinite(bias)]) - 30.0
    return weights, bias
