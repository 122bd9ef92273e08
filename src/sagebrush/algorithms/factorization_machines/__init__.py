"""SageMaker's built-in Factorization Machines, a numpy implementation.

**Model**: ``y(x) = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j`` with ``num_factors``
latent factors per feature, computed in O(nnz * num_factors) on dense or sparse (CSR)
rows (``_model``). ``binary_classifier`` trains the logistic loss and answers
``score = sigmoid(y)``, ``predicted_label = score > 0.5``; ``regressor`` trains squared
error and answers ``score = y``. No Python library on PyPI that is kept up fits
SageMaker's settings, so the model and its training are written here in numpy.

**Hyperparameters** (SageMaker's names and defaults): ``feature_dim``, ``num_factors``,
``predictor_type`` (``binary_classifier`` or ``regressor``) required; ``epochs`` (1),
``mini_batch_size`` (1000); per term ``bias_``/``linear_``/``factors_``: ``lr`` (0.1 /
0.001 / 0.0001), ``wd`` (0.01 / 0.001 / 0.00001), ``init_method`` (``normal``,
``uniform``, ``constant``; default normal), ``init_sigma`` (0.01 / 0.01 / 0.001),
``init_scale`` (no documented default: the default sigma), ``init_value`` (0);
optimiser settings ``clip_gradient``, ``eps`` (1e-8), ``rescale_grad`` (default
1/batch size: mean gradients). Training is minibatch Adam (``_fit``) with each term's
learning rate and weight decay; rows are shuffled with a fixed seed.

**Quality** (tests/algorithms/test_factorization_machines.py): on scikit-learn's
breast_cancer (standardised) the binary classifier's test accuracy is within 2% of
scikit-learn's LogisticRegression on the same split, on diabetes the regressor's RMSE is
within 2% of LinearRegression — an FM contains the linear model — and on an XOR-like
set, which no linear model separates, the pairwise term lifts accuracy from chance
(LogisticRegression) to nearly 1.

**Channels**: ``train`` (required) and ``test``, ``application/x-recordio-protobuf`` only
(Float32 tensors, dense or sparse; the SDK's ``record_set()`` writes them); File,
FastFile or Pipe mode.

**Metrics**: after each epoch ``train`` and at the end ``test``:
``binary_classification_accuracy``, ``binary_classification_cross_entropy`` and
``binary_f_beta`` (logged ``binary_f_1.000``) for classifiers, ``rmse`` for regressors
(``#quality_metric: host=algo-1, test rmse <loss>=...``).

**Artifact**: ``model/model_algo-1``, a numpy ``.npz`` (no pickle): ``w0``, ``w``, ``V``,
``predictor_type``.

**Inference** (``_serve.Runtime``): requests ``application/json`` and
``application/x-recordio-protobuf`` (no CSV); responses ``application/json`` (default)
``{"predictions": [{"score": 0.4, "predicted_label": 0.0}]}`` (regressors: ``score``
only), ``application/jsonlines``, ``application/x-recordio-protobuf``.
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import NUMBER

_PATTERNS = {
    "binary_classification_accuracy": "binary_classification_accuracy <score>=",
    "binary_classification_cross_entropy": "binary_classification_cross_entropy <loss>=",
    "binary_f_beta": r"binary_f_\S+ <score>=",
    "rmse": "rmse <loss>=",
}


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for Factorization Machines, as log regexes."""
    return [
        {
            "Name": f"{channel}:{name}",
            "Regex": rf"#quality_metric: host=\S+, {epoch}{channel} {pattern}{NUMBER}",
        }
        for channel, epoch in (("train", r"epoch=\S+, "), ("test", ""))
        for name, pattern in _PATTERNS.items()
    ]
