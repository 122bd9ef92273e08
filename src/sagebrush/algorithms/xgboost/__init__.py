"""SageMaker's built-in XGBoost algorithm (1.x images, ``sagemaker-xgboost:1.7-1``) on xgboost.

Hyperparameters: SageMaker's, with its ranges and checks (``_params``): ``num_round``
(required, >= 1), ``csv_weights``, ``early_stopping_rounds``, ``save_model_on_termination``,
and xgboost's own ``booster``, ``objective`` (SageMaker's list), ``num_class`` (required for
``multi:*``), ``eval_metric`` (a comma-separated list), ``eta``/``learning_rate``,
``gamma``/``min_split_loss``, ``max_depth``, ``min_child_weight``, ``max_delta_step``,
``subsample``, ``colsample_by{tree,level,node}``, ``lambda``/``reg_lambda``,
``alpha``/``reg_alpha``, ``tree_method``, ``sketch_eps``, ``scale_pos_weight``,
``updater``, ``refresh_leaf``, ``process_type``, ``grow_policy``, ``max_leaves``,
``max_bin``, ``monotone_constraints``, ``interaction_constraints``, ``sample_type``,
``normalize_type``, ``rate_drop``, ``one_drop``, ``skip_drop``, ``tweedie_variance_power``,
``base_score``, ``seed``, ``num_parallel_tree``, ``aft_loss_distribution(_scale)``,
``sampling_method``, ``nthread``, ``verbosity``. They reach ``xgboost.train`` unchanged.
Accepted but without effect in the xgboost used here (it warns in the log): ``dsplit``,
``lambda_bias``, ``predictor``, ``single_precision_histogram``, ``deterministic_histogram``,
``prob_buffer_row``; ``tree_method=gpu_hist`` and ``use_dask_gpu_training=true`` are refused
(no GPU training). ``_kfold``/``_num_cv_round`` (Autopilot's cross-validation) are ignored.
Unknown names fail the job, as SageMaker's do.

Channels: ``train`` (required), ``validation`` (optional: metrics and early stopping),
``model`` (optional, a Sagebrush addition: an ``xgboost-model`` or ``model.tar.gz`` whose
booster training continues by ``num_round`` rounds). A restarted job resumes from the
``xgboost-checkpoint.<n>`` files in its checkpoint directory, as SageMaker's does. Content
types (``_data``): ``text/libsvm`` (default), ``text/csv`` (label first, no header),
``application/x-parquet``, ``application/x-recordio-protobuf``; a validation channel
without a ContentType is read as the train channel's; File, FastFile and Pipe mode
(libsvm: File only).

Metrics: each round prints ``[i]#011train-<metric>:<v>#011validation-<metric>:<v>`` as the
container does (CloudWatch shows its tabs as ``#011``); SageMaker's metric names are
``train:<metric>`` and ``validation:<metric>`` for xgboost's metrics and the container's
own (``accuracy``, ``f1``, ``mse``, ``r2``..., ``_metrics``). ``_tuning_objective_metric``
is evaluated even when not in ``eval_metric``. Early stopping (``early_stopping_rounds``)
watches the tuning objective, else the last ``eval_metric``, on the validation channel and
keeps the best round; without a validation channel and such a metric it is off, as in
SageMaker's container.

Artifact: ``model/xgboost-model``, xgboost's own model file (UBJSON), loadable with
``xgboost.Booster(model_file=...)``. Inference (``_serve``, ``_inference``): requests in
text/csv, text/libsvm, application/x-recordio-protobuf, application/x-parquet; answers in
text/csv (default), application/json, application/jsonlines,
application/x-recordio-protobuf, with ``SAGEMAKER_INFERENCE_OUTPUT`` selectable keys.
"""

from __future__ import annotations

import re

from sagebrush.algorithms.metrics import NUMBER

METRICS = (
    # xgboost's own
    "auc",
    "aucpr",
    "rmse",
    "rmsle",
    "mae",
    "mape",
    "mphe",
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
    "interval-regression-accuracy",
    # the container's own
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "mse",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for this algorithm, as regexes over its log."""
    return [
        {
            "Name": f"{channel}:{metric}",
            "Regex": rf".*\[[0-9]+\].*#011{channel}-{re.escape(metric)}:{NUMBER}",
        }
        for channel in ("train", "validation")
        for metric in METRICS
    ]
