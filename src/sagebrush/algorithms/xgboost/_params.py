"""The built-in XGBoost's hyperparameters: SageMaker's names, ranges and checks (1.x images).

Every value is parsed and checked as the algorithm's own validation does (ranges, choices,
the dependencies between ``objective``, ``num_class``, ``eval_metric``, ``tree_method``,
``booster`` and ``updater``), then handed to ``xgboost.train`` unchanged: the params a user
passes to the job are the params xgboost sees, so a job and a direct ``xgboost.train`` with
the same params and data give the same model.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.hyperparameters import Choice, Float, Integer, Schema, Text

MAXIMIZE = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)
MINIMIZE = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)
# Computed by the algorithm itself (scikit-learn over the margins), not by xgboost: these
# names in eval_metric never reach xgboost's own metrics.
CUSTOM = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "mse",
    "rmse",
    "mae",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)
OBJECTIVES = (
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)
_TREE_UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_local_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_quantile_histmaker",
)
_TREE_GROWERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_local_histmaker",
    "grow_quantile_histmaker",
)
_LINEAR_UPDATERS = ("shotgun", "coord_descent")
_ALIASES = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}
_TRUE_FALSE = ("true", "false")

SCHEMA = Schema(
    Integer("num_round", required=True, low=1),
    Integer("csv_weights", 0, low=0, high=1),
    Integer("early_stopping_rounds", low=1),
    Choice("booster", ("gbtree", "gblinear", "dart")),
    Integer("verbosity", low=0, high=3),
    Integer("nthread", low=1),
    Float("eta", low=0.0, high=1.0),
    Float("gamma", low=0.0),
    Integer("max_depth", low=0),
    Float("min_child_weight", low=0.0),
    Float("max_delta_step", low=0.0),
    Float("subsample", low=0.0, high=1.0, low_open=True),
    Float("colsample_bytree", low=0.0, high=1.0, low_open=True),
    Float("colsample_bylevel", low=0.0, high=1.0, low_open=True),
    Float("colsample_bynode", low=0.0, high=1.0, low_open=True),
    Float("lambda", low=0.0),
    Float("alpha", low=0.0),
    Choice("tree_method", ("auto", "exact", "approx", "hist", "gpu_hist")),
    Float("sketch_eps", low=0.0, high=1.0, low_open=True, high_open=True),
    Float("scale_pos_weight", low=0.0, low_open=True),
    Text("updater"),
    Choice("dsplit", ("row", "col")),
    Integer("refresh_leaf", low=0, high=1),
    Choice("process_type", ("default", "update")),
    Choice("grow_policy", ("depthwise", "lossguide")),
    Integer("max_leaves", low=0),
    Integer("max_bin", low=0),
    Choice("predictor", ("auto", "cpu_predictor", "gpu_predictor")),
    Text("monotone_constraints"),
    Text("interaction_constraints"),
    Choice("sample_type", ("uniform", "weighted")),
    Choice("normalize_type", ("tree", "forest")),
    Float("rate_drop", low=0.0, high=1.0),
    Integer("one_drop", low=0, high=1),
    Float("skip_drop", low=0.0, high=1.0),
    Float("lambda_bias", low=0.0, high=1.0),
    Float("tweedie_variance_power", low=1.0, high=2.0, low_open=True, high_open=True),
    Choice("objective", OBJECTIVES),
    Integer("num_class", low=2),
    Float("base_score", low=0.0),
    Text("eval_metric"),
    Integer("seed", low=-(2**31) + 1, high=2**31 - 2),
    Integer("num_parallel_tree", low=1),
    Choice("save_model_on_termination", _TRUE_FALSE),
    Choice("aft_loss_distribution", ("normal", "logistic", "extreme")),
    Float("aft_loss_distribution_scale", low=0.0),
    Choice("single_precision_histogram", _TRUE_FALSE),
    Choice("deterministic_histogram", _TRUE_FALSE),
    Choice("sampling_method", ("uniform", "gradient_based")),
    Integer("prob_buffer_row", low=2),
    Choice("use_dask_gpu_training", _TRUE_FALSE),
)
# The algorithm's own switches: never part of xgboost's params.
_PLATFORM = (
    "num_round",
    "csv_weights",
    "early_stopping_rounds",
    "save_model_on_termination",
    "use_dask_gpu_training",
)


@dataclass(frozen=True)
class Config:
    params: dict[str, Any]  # exactly what xgboost.train receives
    num_round: int
    csv_weights: bool
    early_stopping_rounds: int | None
    custom_metrics: tuple[str, ...]  # computed by the algorithm, in this order
    early_stopping_metric: str | None
    save_model_on_termination: bool


def parse(raw: Mapping[str, str]) -> Config:
    """Validate the job's hyperparameters; ``ClientError`` names the one that is wrong."""
    values = _schema_values(_canonical_names(raw))
    _check_dependencies(values)
    tuning = _tuning_metrics(raw.get("_tuning_objective_metric"))
    user_metrics = _eval_metrics(values.get("eval_metric"), values.get("objective"))
    union = _union(tuning, user_metrics)
    custom = tuple(m for m in union if m in CUSTOM)
    builtin = [m for m in union if m not in CUSTOM]
    if values.get("use_dask_gpu_training") == "true":
        raise ClientError(
            "Hyperparameter use_dask_gpu_training=true needs GPU instances and Dask: "
            "Sagebrush trains XGBoost on one instance's CPUs; remove it"
        )
    params = {
        name: value
        for name, value in values.items()
        if value is not None and name not in _PLATFORM and name != "eval_metric"
    }
    if builtin:
        params["eval_metric"] = builtin
    stopping = None
    if values["early_stopping_rounds"]:
        watched = tuning or user_metrics
        stopping = watched[-1] if watched else None
    return Config(
        params=params,
        num_round=values["num_round"],
        csv_weights=values["csv_weights"] == 1,
        early_stopping_rounds=values["early_stopping_rounds"],
        custom_metrics=custom,
        early_stopping_metric=stopping,
        save_model_on_termination=values.get("save_model_on_termination") == "true",
    )


def maximize(metric: str) -> bool:
    return metric.split("@", maxsplit=1)[0] in MAXIMIZE


def _canonical_names(raw: Mapping[str, str]) -> dict[str, str]:
    named = dict(raw)
    for alias, name in _ALIASES.items():
        if alias in named:
            if name in named:
                raise ClientError(
                    f"Hyperparameters {name} and {alias} are the same parameter: give one"
                )
            named[name] = named.pop(alias)
    return named


def _schema_values(raw: Mapping[str, str]) -> dict[str, Any]:
    try:
        values = SCHEMA.parse(raw)
    except ClientError as exc:
        text = str(exc)
        # Value errors read as XGBoost's own validation failing; missing/unknown names keep
        # the schema's words.
        if text.startswith("Hyperparameter "):
            raise ClientError("XGBoost rejected h" + text[1:]) from None
        raise
    for name in ("updater", "monotone_constraints", "interaction_constraints", "eval_metric"):
        if values.get(name) is not None:
            values[name] = values[name].strip()
    return values


def _reject(name: str, message: str) -> ClientError:
    return ClientError(f"XGBoost rejected hyperparameter {name}: {message}")


def _check_dependencies(values: dict[str, Any]) -> None:
    objective = values.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and values.get("num_class") is None:
        raise _reject(
            "objective", f"{objective} needs num_class (the number of classes, at least 2)"
        )
    if values.get("updater") is not None:
        values["updater"] = ",".join(_updaters(values["updater"], values))
    tree_method = values.get("tree_method")
    if tree_method == "gpu_hist":
        raise _reject("tree_method", "gpu_hist needs a GPU: Sagebrush trains on CPUs; use hist")
    if values.get("monotone_constraints") is not None:
        _constraints_tuple(values["monotone_constraints"])
        if tree_method not in ("exact", "hist"):
            raise _reject(
                "monotone_constraints",
                "it can be used only when tree_method is 'exact' or 'hist'",
            )
    if values.get("interaction_constraints") is not None:
        _nested_list(values["interaction_constraints"])
        if tree_method not in ("exact", "hist", "approx"):
            raise _reject(
                "interaction_constraints",
                "it can be used only when tree_method is 'exact', 'hist' or 'approx'",
            )


def _updaters(text: str, values: Mapping[str, Any]) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if values.get("booster") == "gblinear":
        if len(names) != 1 or names[0] not in _LINEAR_UPDATERS:
            raise _reject("updater", "with booster gblinear use one of 'shotgun', 'coord_descent'")
    elif values.get("process_type") == "update":
        if any(n not in ("refresh", "prune") for n in names):
            raise _reject("updater", "process_type 'update' works only with 'refresh' and 'prune'")
    else:
        if any(n not in _TREE_UPDATERS for n in names):
            raise _reject("updater", f"'{text}': tree updaters are {', '.join(_TREE_UPDATERS)}")
        if sum(n in _TREE_GROWERS for n in names) > 1:
            raise _reject(
                "updater", f"'{text}': choose one tree grower of {', '.join(_TREE_GROWERS)}"
            )
    return names


def _constraints_tuple(text: str) -> None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise _reject("monotone_constraints", f"'{text}' is not a tuple like (1,-1,0)") from None
    items = value if isinstance(value, tuple | list) else (value,)
    if any(v not in (-1, 0, 1) for v in items):
        raise _reject("monotone_constraints", f"'{text}': each constraint is -1, 0 or 1")


def _nested_list(text: str) -> None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
        raise _reject(
            "interaction_constraints", f"'{text}' is not a nested list like [[1,2],[3,4]]"
        )
    # SageMaker's range for each feature index is [1, inf): index 0 is refused, as there.
    if any(not isinstance(i, int) or i < 1 for group in value for i in group):
        raise _reject("interaction_constraints", f"'{text}': feature indices must be >= 1")


def _eval_metrics(text: str | None, objective: str | None) -> list[str]:
    if text is None:
        return []
    metrics = [part.strip() for part in text.split(",")]
    for metric in metrics:
        _check_metric(metric)
    objective = objective or "reg:squarederror"
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        raise _reject(
            "eval_metric", "metric 'auc' can only be applied for classification and ranking"
        )
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise _reject("eval_metric", "metric 'aft-nloglik' needs objective survival:aft")
    return metrics


def _check_metric(metric: str) -> None:
    if "<function" in metric:
        raise _reject("eval_metric", f"user defined metric {metric} is not supported")
    if "@" in metric:
        name, _, threshold = (p.strip() for p in metric.partition("@"))
        if name not in ("error", "ndcg", "map"):
            raise _reject(
                "eval_metric",
                f"'{metric}': a threshold (@t) is allowed for 'error', 'ndcg' and 'map' only",
            )
        try:
            float(threshold)
        except ValueError:
            raise _reject(
                "eval_metric", f"'{metric}': the threshold t in '{name}@t' must be a number"
            ) from None
        return
    if metric not in MAXIMIZE + MINIMIZE:
        raise _reject(
            "eval_metric",
            f"'{metric}' is not a metric of this algorithm: use "
            f"{', '.join(sorted(MAXIMIZE + MINIMIZE))}",
        )


def _tuning_metrics(text: str | None) -> list[str]:
    if not text:
        return []
    channel, _, names = text.strip().partition(":")
    metrics = [m.strip() for m in names.split(",") if m.strip()]
    if channel not in ("train", "validation") or not metrics:
        raise ClientError(
            f"Tuning objective metric {text} is not a metric of this algorithm: "
            "use train:<metric> or validation:<metric>"
        )
    for metric in metrics:
        _check_metric(metric)
    return metrics


def _union(first: list[str], second: list[str]) -> list[str]:
    if first and second:
        return sorted(set(first) | set(second))
    return list(dict.fromkeys(first or second))
