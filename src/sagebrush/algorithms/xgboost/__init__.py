"""SageMaker's built-in XGBoost algorithm (1.x image semantics) on the xgboost library.

Hyperparameters are SageMaker's (xgboost's own parameter names plus ``num_round``,
``early_stopping_rounds``, ``csv_weights``); channels ``train`` (required) and
``validation``; ``text/csv`` (label first, no header) or ``text/libsvm`` content. Each round
prints ``[i]#011train-<metric>:<v>#011validation-<metric>:<v>`` as SageMaker's container
does (CloudWatch shows its tabs as ``#011``), and the model is saved as
``model/xgboost-model``, loadable with ``xgboost.Booster(model_file=...)``.
"""

from __future__ import annotations

METRICS = (
    "auc",
    "aucpr",
    "rmse",
    "rmsle",
    "mae",
    "mape",
    "logloss",
    "error",
    "merror",
    "mlogloss",
    "ndcg",
    "map",
    "poisson-nloglik",
    "gamma-nloglik",
    "cox-nloglik",
    "gamma-deviance",
    "tweedie-nloglik",
    "aft-nloglik",
    "mphe",
)


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for this algorithm, as regexes over its log."""
    number = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
    return [
        {
            "Name": f"{channel}:{metric}",
            "Regex": rf".*\[[0-9]+\].*#011{channel}-{metric}:{number}.*",
        }
        for channel in ("train", "validation")
        for metric in METRICS
    ]
