"""SageMaker's built-in Linear Learner, trained with scikit-learn.

**Hyperparameters** (SageMaker's names, defaults and ranges): ``predictor_type``
(required: ``binary_classifier``, ``multiclass_classifier``, ``regressor``),
``num_classes`` (3..1,000,000, required for multiclass), ``feature_dim`` (auto: the
data's width; otherwise it must match), ``loss`` (auto: ``logistic`` / ``softmax_loss``
/ ``squared_loss``; binary also ``hinge_loss``; regressors also ``absolute_loss``,
``eps_insensitive_squared_loss``, ``eps_insensitive_absolute_loss``, ``quantile_loss``,
``huber_loss``) with ``margin``, ``quantile``, ``huber_delta``, ``loss_insensitivity``;
``wd`` (L2) and ``l1`` (auto: a small grid, see below); ``use_bias``; ``normalize_data``,
``normalize_label``, ``unbias_data``, ``unbias_label``, ``num_point_for_scaler``
(normalisation from the first rows; sparse data is scaled, never centred);
``num_models`` (how many regularisation candidates to train; auto: all of
``wd`` in {1e-3, 1e-4, 1e-2, 1e-1} x ``l1`` in {0, 1e-3} that are auto; 1 under
automatic model tuning, as in SageMaker); ``binary_classifier_model_selection_criteria``
(``accuracy``, ``f_beta``/``f1``, ``precision_at_target_recall``,
``recall_at_target_precision``, ``loss_function``/``cross_entropy_loss``) with
``f_beta``, ``target_precision``, ``target_recall``, ``num_calibration_samples``;
``positive_example_weight_mult`` (a number, ``balanced``, or ``auto``: both 1 and
balanced are candidates); ``balance_multiclass_weights``; ``accuracy_top_k``;
``epochs``, ``mini_batch_size``, ``learning_rate`` (auto 0.01), ``use_lr_scheduler``,
``lr_scheduler_step``/``_factor``/``_minimum_lr``, ``early_stopping_patience``,
``early_stopping_tolerance`` (these drive the SGD-trained losses below).

**Training**: the objective ``mean(loss) + wd/2 |w|^2 + l1 |w|_1`` (bias unregularised)
goes to the scikit-learn estimator that minimises it exactly — LogisticRegression for
logistic/softmax, LinearRegression/Ridge/ElasticNet for squared loss, QuantileRegressor
for quantile/absolute loss — or, for hinge, huber and epsilon-insensitive losses (and
absolute loss with ``wd``), SGDClassifier/SGDRegressor epoch by epoch with the learning
rate schedule and early stopping on the validation objective. Each candidate is scored
on the validation channel (else the training data): binary classifiers by the selection
criterion at the threshold it calibrates, others by the objective; the best is kept.

**Quality** (tests/algorithms/test_linear_learner.py): on scikit-learn's data sets the
served model is within 2% of scikit-learn called directly — breast_cancer accuracy
(defaults) against LogisticRegression on standardised data, wine (softmax, ``wd`` = 1/n,
i.e. C=1) against LogisticRegression, diabetes RMSE (defaults) against LinearRegression.

Accepted but without effect (they steer LL's MXNet optimiser, not the objective):
``optimizer``, ``momentum``, ``beta_1``, ``beta_2``, ``bias_lr_mult``, ``bias_wd_mult``
(the bias is never regularised), ``init_method``, ``init_scale``, ``init_sigma``,
``init_bias``; ``quantile_loss`` ignores ``wd`` (scikit-learn's solver takes L1 only).
Exact solvers report their converged objective as epoch 0.

**Channels**: ``train`` (required), ``validation``, ``test``; ``text/csv`` (label first, no
header) or ``application/x-recordio-protobuf`` (dense or sparse Float32); File, FastFile
or Pipe mode.

**Metrics** (``metric_definitions``): ``train:objective_loss`` and
``validation:objective_loss`` by epoch (``#quality_metric: host=algo-1, epoch=0, train
mse_objective <loss>=...``), their ``:final`` values, and per channel the predictor
type's metrics: ``binary_classification_accuracy``, ``binary_f_beta`` (logged
``binary_f_1.000``), ``precision``, ``recall``, ``roc_auc_score``; ``multiclass_accuracy``,
``multiclass_top_k_accuracy`` (``multiclass_top_k_accuracy_3``), ``dcg``,
``macro_precision``, ``macro_recall``, ``macro_f_beta``; ``mse``, ``absolute_loss``;
and ``test:objective_loss``.

**Artifact**: ``model/model_algo-1``, a numpy ``.npz`` (no pickle) with ``weights``,
``bias``, ``threshold``, ``predictor_type`` and ``loss`` in the raw feature space.

**Inference** (``_serve.Runtime``): requests ``text/csv`` (no label), ``application/json``,
``application/jsonlines``, ``application/x-recordio-protobuf``; responses
``application/json`` (default) ``{"predictions": [{"score": 0.4, "predicted_label": 0.0}]}``
(multiclass ``score`` is the class probabilities; regressors answer ``score`` only),
``application/jsonlines`` (one object per line) and ``application/x-recordio-protobuf``
(a record per row whose label map holds ``score`` and ``predicted_label`` as float32).
``score`` is a probability for logistic and softmax losses, the raw margin for hinge.
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import NUMBER

# name -> the part of the log line after "host=...,": SageMaker's own regexes.
_PATTERNS = {
    "objective_loss": r"epoch=\S+, {channel} \S+_objective <loss>=",
    "objective_loss:final": r"{channel} \S+_objective <loss>=",
    "binary_classification_accuracy": r"{channel} binary_classification_accuracy <score>=",
    "binary_f_beta": r"{channel} binary_f_\S+ <score>=",
    "precision": r"{channel} precision <score>=",
    "recall": r"{channel} recall <score>=",
    "roc_auc_score": r"{channel} roc_auc_score <score>=",
    "mse": r"{channel} mse <loss>=",
    "absolute_loss": r"{channel} absolute_loss <loss>=",
    "multiclass_accuracy": r"{channel} multiclass_accuracy <score>=",
    "multiclass_top_k_accuracy": r"{channel} multiclass_top_k_accuracy_\S+ <score>=",
    "dcg": r"{channel} dcg <score>=",
    "macro_precision": r"{channel} macro_precision <score>=",
    "macro_recall": r"{channel} macro_recall <score>=",
    "macro_f_beta": r"{channel} macro_f_\S+ <score>=",
}
_TRAIN = (
    "objective_loss",
    "objective_loss:final",
    "binary_classification_accuracy",
    "binary_f_beta",
    "precision",
    "recall",
    "mse",
    "absolute_loss",
)


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for Linear Learner, as regexes over its log."""
    names = [(f"train:{name}", name) for name in _TRAIN]
    names += [(f"validation:{name}", name) for name in _PATTERNS]
    # The test channel is scored once, on the final model: no epoch in its line.
    names += [("test:objective_loss", "objective_loss:final")]
    names += [(f"test:{name}", name) for name in _PATTERNS if not name.startswith("objective")]
    return [
        {
            "Name": full,
            "Regex": r"#quality_metric: host=\S+, "
            + _PATTERNS[pattern].format(channel=full.partition(":")[0])
            + NUMBER,
        }
        for full, pattern in names
    ]
