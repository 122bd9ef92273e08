"""Linear Learner's hyperparameters: SageMaker's names, defaults and ranges, resolved.

``settings(raw)`` parses ``hyperparameters.json`` with the schema below and resolves the
``auto`` values that depend on each other (the loss for the predictor type, label
normalisation for regressors, centring when there is a bias) into one ``Settings``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.hyperparameters import (
    AUTO,
    Bool,
    Choice,
    Float,
    Integer,
    Param,
    Schema,
)

BINARY, MULTICLASS, REGRESSOR = "binary_classifier", "multiclass_classifier", "regressor"
PREDICTOR_TYPES = (BINARY, MULTICLASS, REGRESSOR)

# The losses each predictor type accepts; the first is what ``auto`` means.
LOSSES = {
    BINARY: ("logistic", "hinge_loss"),
    MULTICLASS: ("softmax_loss",),
    REGRESSOR: (
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
ALL_LOSSES = ("auto", *(loss for losses in LOSSES.values() for loss in losses))

# The SDK also accepts f1 (f_beta with beta 1) and cross_entropy_loss (the loss).
CRITERIA = (
    "accuracy",
    "f_beta",
    "f1",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
    "cross_entropy_loss",
)


def _tristate(name: str, default: str) -> Param:
    return Choice(name, ("auto", "true", "false"), default, case_sensitive=False)


def _weight_mult(text: str) -> float | str:
    value = text.strip().lower()
    if value in ("auto", "balanced"):
        return value
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(text)
    return number


SCHEMA = Schema(
    Choice("predictor_type", PREDICTOR_TYPES, required=True),
    Integer("num_classes", low=3, high=1_000_000),
    Integer("feature_dim", AUTO, low=1, auto=True),
    Integer("mini_batch_size", 1000, low=1),
    Integer("epochs", 15, low=1),
    Integer("accuracy_top_k", 3, low=1, high=1_000_000),
    Bool("balance_multiclass_weights", False),
    Float("beta_1", AUTO, low=0.0, high=1.0, high_open=True, auto=True),
    Float("beta_2", AUTO, low=0.0, high=1.0, high_open=True, auto=True),
    Float("bias_lr_mult", AUTO, low=0.0, low_open=True, auto=True),
    Float("bias_wd_mult", AUTO, low=0.0, auto=True),
    Choice("binary_classifier_model_selection_criteria", CRITERIA, "accuracy"),
    Integer("early_stopping_patience", 3, low=1),
    Float("early_stopping_tolerance", 0.001, low=0.0, low_open=True),
    Float("f_beta", 1.0, low=0.0, low_open=True),
    Float("huber_delta", 1.0, low=0.0),
    Float("init_bias", 0.0),
    Choice("init_method", ("uniform", "normal"), "uniform"),
    Float("init_scale", 0.07, low=0.0, low_open=True),
    Float("init_sigma", 0.01, low=0.0, low_open=True),
    Float("l1", AUTO, low=0.0, auto=True),
    Float("learning_rate", AUTO, low=0.0, low_open=True, auto=True),
    Choice("loss", ALL_LOSSES, "auto"),
    Float("loss_insensitivity", 0.01, low=0.0, low_open=True),
    Float("lr_scheduler_factor", AUTO, low=0.0, high=1.0, low_open=True, high_open=True, auto=True),
    Float("lr_scheduler_minimum_lr", AUTO, low=0.0, low_open=True, auto=True),
    Integer("lr_scheduler_step", AUTO, low=1, auto=True),
    Float("margin", 1.0, low=0.0),
    Float("momentum", AUTO, low=0.0, high=1.0, high_open=True, auto=True),
    _tristate("normalize_data", "true"),
    _tristate("normalize_label", "auto"),
    Integer("num_calibration_samples", AUTO, low=1, auto=True),
    Integer("num_models", AUTO, low=1, auto=True),
    Integer("num_point_for_scaler", 10000, low=1),
    Choice("optimizer", ("auto", "sgd", "adam", "rmsprop"), "auto"),
    Param(
        "positive_example_weight_mult",
        _weight_mult,
        "a number greater than 0, 'balanced' or 'auto'",
        1.0,
    ),
    Float("quantile", 0.5, low=0.0, high=1.0, low_open=True, high_open=True),
    Float("target_precision", 0.8, low=0.0, high=1.0, low_open=True, high_open=True),
    Float("target_recall", 0.8, low=0.0, high=1.0, low_open=True, high_open=True),
    _tristate("unbias_data", "auto"),
    _tristate("unbias_label", "auto"),
    Bool("use_bias", True),
    Bool("use_lr_scheduler", True),
    Float("wd", AUTO, low=0.0, auto=True),
)

# Candidate regularisation for ``auto`` (the model selection picks one, as LL's parallel
# models do); the first entry is the one a single model (num_models=1) uses.
AUTO_WD = (1e-3, 1e-4, 1e-2, 1e-1)
AUTO_L1 = (0.0, 1e-3)
AUTO_LEARNING_RATE = 0.01


@dataclass(frozen=True)
class Settings:
    predictor_type: str
    loss: str
    num_classes: int  # 2 for binary, 1 for regression
    feature_dim: int | None
    mini_batch_size: int
    epochs: int
    top_k: int
    balance_multiclass_weights: bool
    criterion: str
    patience: int
    tolerance: float
    beta: float  # of the F-beta score
    huber_delta: float
    l1: tuple[float, ...]
    wd: tuple[float, ...]
    learning_rate: float
    use_lr_scheduler: bool
    lr_scheduler_step: int | None
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float
    loss_insensitivity: float
    margin: float
    normalize_data: bool
    normalize_label: bool
    unbias_data: bool
    unbias_label: bool
    num_calibration_samples: int | None
    num_models: int | None
    num_point_for_scaler: int
    positive_weights: tuple[float | str, ...]  # numbers, or "balanced"
    quantile: float
    target_precision: float
    target_recall: float
    use_bias: bool

    @property
    def classifier(self) -> bool:
        return self.predictor_type != REGRESSOR


def settings(raw: Mapping[str, str]) -> Settings:
    values = SCHEMA.parse(raw)
    kind: str = values["predictor_type"]
    loss = _loss(kind, values["loss"])
    if kind == MULTICLASS and values["num_classes"] is None:
        raise ClientError(
            "Hyperparameter num_classes is required when predictor_type is multiclass_classifier"
        )
    num_classes = {BINARY: 2, MULTICLASS: values["num_classes"], REGRESSOR: 1}[kind]
    use_bias: bool = values["use_bias"]
    regressor = kind == REGRESSOR
    normalize_label = regressor and values["normalize_label"] != "false"
    unbias_label = regressor and _resolve(values["unbias_label"], use_bias)
    num_models = _optional(values["num_models"])
    if "_tuning_objective_metric" in raw:
        # SageMaker turns LL's internal model search off under automatic model tuning.
        num_models = 1
    weight = values["positive_example_weight_mult"]
    criterion = values["binary_classifier_model_selection_criteria"]
    return Settings(
        predictor_type=kind,
        loss=loss,
        num_classes=num_classes,
        feature_dim=_optional(values["feature_dim"]),
        mini_batch_size=values["mini_batch_size"],
        epochs=values["epochs"],
        top_k=values["accuracy_top_k"],
        balance_multiclass_weights=values["balance_multiclass_weights"],
        criterion=_criterion(criterion),
        patience=values["early_stopping_patience"],
        tolerance=values["early_stopping_tolerance"],
        beta=1.0 if criterion == "f1" else values["f_beta"],
        huber_delta=values["huber_delta"],
        l1=_candidates(values["l1"], AUTO_L1),
        wd=_candidates(values["wd"], AUTO_WD),
        learning_rate=_or(values["learning_rate"], AUTO_LEARNING_RATE),
        use_lr_scheduler=values["use_lr_scheduler"],
        lr_scheduler_step=_optional(values["lr_scheduler_step"]),
        lr_scheduler_factor=_or(values["lr_scheduler_factor"], 0.9),
        lr_scheduler_minimum_lr=_or(values["lr_scheduler_minimum_lr"], 1e-5),
        loss_insensitivity=values["loss_insensitivity"],
        margin=values["margin"],
        normalize_data=values["normalize_data"] != "false",
        normalize_label=normalize_label,
        unbias_data=_resolve(values["unbias_data"], use_bias),
        unbias_label=unbias_label,
        num_calibration_samples=_optional(values["num_calibration_samples"]),
        num_models=num_models,
        num_point_for_scaler=values["num_point_for_scaler"],
        positive_weights=(1.0, "balanced") if weight == "auto" else (weight,),
        quantile=values["quantile"],
        target_precision=values["target_precision"],
        target_recall=values["target_recall"],
        use_bias=use_bias,
    )


def _loss(kind: str, loss: str) -> str:
    allowed = LOSSES[kind]
    if loss == "auto":
        return allowed[0]
    if loss not in allowed:
        raise ClientError(
            f"Hyperparameter loss: '{loss}' is not a loss for predictor_type {kind}: "
            f"use auto or one of {', '.join(allowed)}"
        )
    return loss


def _criterion(name: str) -> str:
    return {"f1": "f_beta", "cross_entropy_loss": "loss_function"}.get(name, name)


def _resolve(value: str, auto: bool) -> bool:
    return auto if value == "auto" else value == "true"


def _optional(value: Any) -> Any:
    return None if value == AUTO else value


def _or(value: Any, default: float) -> float:
    return default if value == AUTO else float(value)


def _candidates(value: Any, auto: tuple[float, ...]) -> tuple[float, ...]:
    return auto if value == AUTO else (float(value),)
