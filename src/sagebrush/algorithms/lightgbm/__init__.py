"""SageMaker's built-in LightGBM (the JumpStart ``lightgbm-classification-model`` and
``lightgbm-regression-model``) on the lightgbm library.

Hyperparameters — SageMaker's names, defaults and ranges ("LightGBM hyperparameters"):
``num_boost_round`` (100), ``early_stopping_rounds`` (10; <= 0 turns early stopping off),
``metric`` (``auto``, or one or more comma-separated of ``rmse l1 l2 huber fair
binary_logloss binary_error auc average_precision multi_logloss multi_error auc_mu
cross_entropy``), ``learning_rate`` (0.1), ``num_leaves`` (64), ``feature_fraction`` (0.9),
``bagging_fraction`` (0.9), ``bagging_freq`` (1), ``max_depth`` (6), ``min_data_in_leaf``
(3), ``max_delta_step`` (0), ``lambda_l1`` / ``lambda_l2`` (0), ``boosting`` (``gbdt rf dart
goss``), ``min_gain_to_split`` (0), ``scale_pos_weight`` (1, binary only),
``tree_learner`` (``serial feature data voting``), ``feature_fraction_bynode`` (1),
``is_unbalance`` (False, binary only), ``max_bin`` (255), ``tweedie_variance_power`` (1.5,
regression only), ``num_threads`` (0 = all cores), ``verbosity`` (1). ``use_dask`` is
accepted and has no effect: training runs in one process on the first host.

The task. SageMaker has one model id per task; here one algorithm serves both, so the task
comes from the ``objective`` hyperparameter (a Sagebrush addition: ``auto`` (default),
``binary``, ``multiclass``, ``multiclassova``, ``regression``, ``regression_l1``, ``huber``,
``fair``, ``poisson``, ``quantile``, ``mape``, ``gamma``, ``tweedie``), else from the data as
the JumpStart scripts do: labels that are the class indices ``0..k-1`` (k >= 2) make a
binary (k = 2, objective ``binary``) or multiclass (objective ``multiclass``, ``num_class``
k) problem — unless every ``metric`` named is a regression metric — and any other labels a
regression (objective ``regression``, L2). ``metric=auto`` is ``binary_logloss``,
``multi_logloss`` or ``rmse``. Classification labels must be ``0..k-1``.

Channels: ``train`` (or ``training``) and optional ``validation``, ``text/csv`` only,
label first, no header, File or FastFile mode. A training channel may instead hold the
JumpStart layout ``train/*.csv``, ``validation/*.csv`` and ``categorical_index.json``; a
``categorical_index.json`` (``{"cat_index_list": [column, ...]}``, columns counted with the
label as 0) marks categorical features. Without validation data, 20% of the training rows
(stratified for classification, a fixed seed) are held out as validation data.

Log and metrics: each iteration prints ``[i]\\tval's <metric>: <v>\\ttrain's <metric>: <v>``
as LightGBM's ``log_evaluation`` does, but with the validation results first and values
written without exponents, so SageMaker's documented regexes (``"<metric>: ([0-9\\.]+)"``,
"Tune a LightGBM model") read the validation value. After early stopping, the best
iteration's line is printed last, so a metric's final value is its best validation score.

Artifact: ``model/model.txt``, LightGBM's native text model up to the best iteration
(``lightgbm.Booster(model_file="model.txt")``), and ``model/model_info.json``
(``{"task", "objective", "num_class", "num_features", "best_iteration",
"categorical_features", "lightgbm_version"}``). SageMaker's own artifact is a joblib pickle
(``model.pkl``); Sagebrush writes no pickles.

Inference (the JumpStart inference script's formats): requests ``text/csv`` without the
label; responses ``application/json`` (the default, also for ``*/*``). Classification:
``{"probabilities-1d": [[p1], ...], "probabilities": [[p0, p1], ...]}`` (multiclass:
``probabilities`` one row of k class probabilities per record, ``probabilities-1d`` the
columns after the first), plus ``"predicted_label": [argmax, ...]`` when Accept is
``application/json;verbose``. Regression: ``{"prediction": [v, ...]}``. Other Content-Types
415, other Accept types 406, an empty body 204, unreadable CSV or the wrong number of
features 400.
"""

from __future__ import annotations

# "Tune a LightGBM model": the metric names and the regex each is read with.
METRICS = (
    "rmse",
    "l1",
    "l2",
    "huber",
    "fair",
    "binary_logloss",
    "binary_error",
    "auc",
    "average_precision",
    "multi_logloss",
    "multi_error",
    "auc_mu",
    "cross_entropy",
)


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker documents for LightGBM, as regexes over the training log."""
    return [{"Name": metric, "Regex": rf"{metric}: ([0-9\.]+)"} for metric in METRICS]
