"""LightGBM's hyperparameters as SageMaker names them, and the task they train for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.hyperparameters import AUTO, Bool, Choice, Float, Integer, Schema, Text
from sagebrush.algorithms.lightgbm import METRICS

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"

REGRESSION_OBJECTIVES = (
    "regression",
    "regression_l1",
    "huber",
    "fair",
    "poisson",
    "quantile",
    "mape",
    "gamma",
    "tweedie",
)
CLASSIFICATION_OBJECTIVES = ("binary", "multiclass", "multiclassova")
REGRESSION_METRICS = frozenset({"rmse", "l1", "l2", "huber", "fair"})
# What metric=auto means for each task ("LightGBM hyperparameters").
AUTO_METRIC = {BINARY: "binary_logloss", MULTICLASS: "multi_logloss", REGRESSION: "rmse"}

# Defaults and ranges of SageMaker's "LightGBM hyperparameters" page.
SCHEMA = Schema(
    Integer("num_boost_round", 100, low=1),
    Integer("early_stopping_rounds", 10),
    Text("metric", AUTO),
    Float("learning_rate", 0.1, low=0.0, high=1.0, low_open=True, high_open=True),
    Integer("num_leaves", 64, low=2, high=131072),
    # The page gives (0, 1) for feature_fraction, but its own tuning ranges go to 1.0.
    Float("feature_fraction", 0.9, low=0.0, high=1.0, low_open=True),
    Float("bagging_fraction", 0.9, low=0.0, high=1.0, low_open=True),
    Integer("bagging_freq", 1, low=0),
    Integer("max_depth", 6),
    Integer("min_data_in_leaf", 3, low=0),
    Float("max_delta_step", 0.0),
    Float("lambda_l1", 0.0, low=0.0),
    Float("lambda_l2", 0.0, low=0.0),
    Choice("boosting", ("gbdt", "rf", "dart", "goss"), "gbdt"),
    Float("min_gain_to_split", 0.0, low=0.0),
    Float("scale_pos_weight", 1.0, low=0.0, low_open=True),
    Choice("tree_learner", ("serial", "feature", "data", "voting"), "serial"),
    Float("feature_fraction_bynode", 1.0, low=0.0, high=1.0, low_open=True),
    Bool("is_unbalance", False),
    Integer("max_bin", 255, low=2),
    Float("tweedie_variance_power", 1.5, low=1.0, high=2.0, high_open=True),
    Integer("num_threads", 0, low=0),
    Integer("verbosity", 1),
    # Distributed training with Dask: one process trains here, so it has no effect.
    Bool("use_dask", False),
    # Sagebrush's addition: SageMaker picks the task by model id, this picks it by name.
    Choice("objective", (AUTO, *CLASSIFICATION_OBJECTIVES, *REGRESSION_OBJECTIVES), AUTO),
)

# Passed to lightgbm.train under the same name, whatever the task.
_COMMON = (
    "learning_rate",
    "num_leaves",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "max_depth",
    "min_data_in_leaf",
    "max_delta_step",
    "lambda_l1",
    "lambda_l2",
    "boosting",
    "min_gain_to_split",
    "tree_learner",
    "feature_fraction_bynode",
    "max_bin",
    "num_threads",
    "verbosity",
)


@dataclass(frozen=True)
class Task:
    kind: str  # BINARY, MULTICLASS or REGRESSION
    objective: str
    num_class: int = 1


def parse(raw: dict[str, str]) -> dict[str, Any]:
    values = SCHEMA.parse(raw)
    values["metric"] = _metrics(values["metric"])
    if values["is_unbalance"] and values["scale_pos_weight"] != 1.0:
        raise ClientError(
            "Hyperparameters is_unbalance and scale_pos_weight cannot be used together: "
            "set is_unbalance to False or leave scale_pos_weight at 1.0"
        )
    return values


def _metrics(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == [AUTO]:
        return []
    bad = [name for name in names if name not in METRICS]
    if not names or bad:
        raise ClientError(
            f"Hyperparameter metric: value '{text}' is invalid: it must be auto or one or "
            f"more (comma-separated) of {', '.join(METRICS)}"
        )
    return list(dict.fromkeys(names))


def resolve_task(values: dict[str, Any], labels: np.ndarray) -> Task:
    """The task as the objective names it, else as the labels (and metrics) show it."""
    objective: str = values["objective"]
    if objective in REGRESSION_OBJECTIVES:
        return Task(REGRESSION, objective)
    classes = _class_count(labels)
    if objective == AUTO:
        metrics = values["metric"]
        regression_metrics = bool(metrics) and all(m in REGRESSION_METRICS for m in metrics)
        if classes is None or classes < 2 or regression_metrics:
            if metrics and not any(m in REGRESSION_METRICS for m in metrics):
                raise ClientError(
                    f"Hyperparameter metric {','.join(metrics)} is for classification, but "
                    "the training labels are not class indices 0..k-1 (k >= 2): encode the "
                    "classes as 0, 1, ..., or choose a regression metric"
                )
            return Task(REGRESSION, "regression")
        objective = "binary" if classes == 2 else "multiclass"
    if classes is None:
        raise ClientError(
            f"Objective {objective} needs class labels 0, 1, ..., k-1 in the first column "
            "of the training data, as non-negative integers"
        )
    if objective == "binary":
        if classes > 2:
            raise ClientError(
                f"Objective binary needs labels 0 and 1; the training data has {classes} "
                "classes: use objective multiclass"
            )
        return Task(BINARY, "binary", 2)
    return Task(MULTICLASS, objective, max(classes, 2))


def _class_count(labels: np.ndarray) -> int | None:
    """k when the labels are exactly the integers 0..k-1, else None."""
    unique = np.unique(labels)
    if not np.all(np.isfinite(unique)) or not np.all(unique == np.round(unique)):
        return None
    if unique[0] != 0 or unique[-1] != len(unique) - 1:
        return None
    return len(unique)


def lightgbm_params(values: dict[str, Any], task: Task) -> dict[str, Any]:
    """``lightgbm.train``'s params, as the JumpStart scripts build them."""
    params: dict[str, Any] = {"objective": task.objective}
    params["metric"] = values["metric"] or [AUTO_METRIC[task.kind]]
    params.update({name: values[name] for name in _COMMON})
    if task.kind == BINARY:
        params["scale_pos_weight"] = values["scale_pos_weight"]
        params["is_unbalance"] = values["is_unbalance"]
    elif task.kind == MULTICLASS:
        params["num_class"] = task.num_class
    else:
        params["tweedie_variance_power"] = values["tweedie_variance_power"]
    return params
