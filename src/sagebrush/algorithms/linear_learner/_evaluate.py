"""Losses, quality metrics and the binary threshold, under Linear Learner's metric names.

SageMaker's Linear Learner logs ``<loss>_objective`` (``mse_objective``,
``binary_classification_cross_entropy_objective``...) and, per predictor type, the
quality metrics of its tuning page; ``binary_f_beta`` is logged as ``binary_f_1.000``
(beta with three decimals), top-k accuracy as ``multiclass_top_k_accuracy_3``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.metrics import fbeta_score, precision_score, recall_score, roc_auc_score

from sagebrush.algorithms.linear_learner._model import LinearModel, default_threshold
from sagebrush.algorithms.linear_learner._params import BINARY, MULTICLASS, Settings

OBJECTIVE_NAMES = {
    "logistic": "binary_classification_cross_entropy",
    "hinge_loss": "hinge_loss",
    "softmax_loss": "multiclass_cross_entropy",
    "squared_loss": "mse",
    "absolute_loss": "absolute_loss",
    "eps_insensitive_squared_loss": "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss",
    "quantile_loss": "quantile_loss",
    "huber_loss": "huber_loss",
}

# (metric name, value, "loss" or "score") as log_metric prints them.
Metric = tuple[str, float, str]


def objective_name(settings: Settings) -> str:
    return f"{OBJECTIVE_NAMES[settings.loss]}_objective"


def objective(settings: Settings, raw: np.ndarray, labels: np.ndarray) -> float:
    """The mean training loss of raw scores ``raw`` (unweighted, unregularised)."""
    loss = settings.loss
    if loss == "logistic":
        return float(np.mean(np.logaddexp(0.0, raw) - labels * raw))
    if loss == "hinge_loss":
        signs = 2.0 * labels - 1.0
        return float(np.mean(np.maximum(0.0, settings.margin - signs * raw)))
    if loss == "softmax_loss":
        picked = raw[np.arange(len(raw)), labels.astype(np.int64)]
        return float(np.mean(logsumexp(raw, axis=1) - picked))
    residual = labels - raw
    size = np.abs(residual)
    if loss == "squared_loss":
        return float(np.mean(residual**2))
    if loss == "absolute_loss":
        return float(np.mean(size))
    if loss == "eps_insensitive_squared_loss":
        return float(np.mean(np.maximum(0.0, size - settings.loss_insensitivity) ** 2))
    if loss == "eps_insensitive_absolute_loss":
        return float(np.mean(np.maximum(0.0, size - settings.loss_insensitivity)))
    if loss == "quantile_loss":
        q = settings.quantile
        return float(np.mean(np.maximum(q * residual, (q - 1.0) * residual)))
    delta = settings.huber_delta
    quadratic = np.minimum(size, delta)
    return float(np.mean(0.5 * quadratic**2 + delta * (size - quadratic)))


def quality(
    settings: Settings, model: LinearModel, raw: np.ndarray, labels: np.ndarray
) -> list[Metric]:
    """The objective and the predictor type's quality metrics on one data set."""
    metrics: list[Metric] = [(objective_name(settings), objective(settings, raw, labels), "loss")]
    scores = model.scores(raw)
    predicted = model.labels(scores)
    beta = f"{settings.beta:.3f}"
    if settings.predictor_type == BINARY:
        truth = labels.astype(np.int64)
        guess = predicted.astype(np.int64)
        metrics += [
            ("binary_classification_accuracy", float(np.mean(truth == guess)), "score"),
            (f"binary_f_{beta}", _score(fbeta_score, truth, guess, beta=settings.beta), "score"),
            ("precision", _score(precision_score, truth, guess), "score"),
            ("recall", _score(recall_score, truth, guess), "score"),
        ]
        if len(np.unique(truth)) == 2:
            metrics.append(("roc_auc_score", float(roc_auc_score(truth, scores)), "score"))
    elif settings.predictor_type == MULTICLASS:
        truth = labels.astype(np.int64)
        guess = predicted.astype(np.int64)
        k = min(settings.top_k, scores.shape[1])
        # Rank 1 is the highest score; ties count against the true class.
        rank = np.sum(scores >= scores[np.arange(len(truth)), truth][:, None], axis=1)
        macro = {"average": "macro"}
        metrics += [
            ("multiclass_accuracy", float(np.mean(truth == guess)), "score"),
            (f"multiclass_top_k_accuracy_{settings.top_k}", float(np.mean(rank <= k)), "score"),
            ("dcg", float(np.mean(1.0 / np.log2(rank + 1.0))), "score"),
            ("macro_recall", _score(recall_score, truth, guess, **macro), "score"),
            ("macro_precision", _score(precision_score, truth, guess, **macro), "score"),
            (
                f"macro_f_{beta}",
                _score(fbeta_score, truth, guess, beta=settings.beta, **macro),
                "score",
            ),
        ]
    else:
        residual = labels - raw
        metrics += [
            ("mse", float(np.mean(residual**2)), "loss"),
            ("absolute_loss", float(np.mean(np.abs(residual))), "loss"),
        ]
    return metrics


def _score(function: object, truth: np.ndarray, guess: np.ndarray, **kwargs: object) -> float:
    return float(function(truth, guess, zero_division=0.0, **kwargs))  # type: ignore[operator]


def calibrate(settings: Settings, scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold the selection criterion picks on ``scores``, and its criterion value.

    Predicting 1 for the ``i`` highest scores is one cut per distinct score; the cut
    that maximises the criterion wins, the one nearest the default threshold on ties.
    ``loss_function`` keeps the default threshold (0.5 on probabilities, 0 on margins).
    """
    default = default_threshold(settings.predictor_type, settings.loss)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    truth = labels[order].astype(np.float64)
    n = len(ranked)
    positives = float(truth.sum())
    tp = np.concatenate([[0.0], np.cumsum(truth)])
    taken = np.arange(n + 1, dtype=np.float64)
    fp = taken - tp
    # A cut between equal scores is not a threshold: keep cuts where the score drops.
    cuts = np.ones(n + 1, dtype=bool)
    cuts[1:n] = ranked[:-1] > ranked[1:]
    thresholds = np.empty(n + 1)
    thresholds[0] = ranked[0]
    thresholds[n] = np.nextafter(ranked[-1], -np.inf)
    thresholds[1:n] = (ranked[:-1] + ranked[1:]) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(taken > 0, tp / np.maximum(taken, 1.0), 1.0)
        recall = tp / positives if positives else np.zeros(n + 1)
        accuracy = (tp + (n - positives - fp)) / n
        b2 = settings.beta**2
        f_beta = np.where(
            precision + recall > 0,
            (1 + b2) * precision * recall / np.maximum(b2 * precision + recall, 1e-300),
            0.0,
        )
    criterion = settings.criterion
    if criterion == "accuracy":
        values = accuracy
    elif criterion == "f_beta":
        values = f_beta
    elif criterion == "precision_at_target_recall":
        values = _constrained(precision, recall, settings.target_recall)
    elif criterion == "recall_at_target_precision":
        values = _constrained(recall, precision, settings.target_precision)
    else:
        at_default = int(np.sum(ranked > default))
        return default, float(accuracy[at_default])
    values = np.where(cuts, values, -np.inf)
    best = values.max()
    ties = np.flatnonzero(values == best)
    chosen = ties[np.argmin(np.abs(thresholds[ties] - default))]
    return float(thresholds[chosen]), float(best)


def _constrained(goal: np.ndarray, bound: np.ndarray, target: float) -> np.ndarray:
    """``goal`` where ``bound`` meets its target; otherwise ranked below every such cut."""
    feasible = bound >= target
    if feasible.any():
        return np.where(feasible, goal, -np.inf)
    return bound - 2.0  # nothing reaches the target: get as close as possible
