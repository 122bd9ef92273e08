"""SageMaker's built-in k-nearest-neighbours (k-NN), on scikit-learn's exact search.

**Model.** Training keeps a uniform sample, without replacement, of ``sample_size``
training records (all of them, in order, when ``sample_size`` covers the channel), drawn
with a fixed seed so a job is repeatable; optionally projects it to fewer dimensions; and
indexes it. A query's answer comes from its ``k`` nearest sampled records (scikit-learn's
``NearestNeighbors``, exact): the most frequent of their labels for a classifier (a tie
goes to the smallest label), the mean of their labels for a regressor.

**Hyperparameters** (SageMaker's names, ranges and defaults):

- ``feature_dim``, ``k``, ``sample_size`` (required, positive integers) and
  ``predictor_type`` (required, ``classifier`` or ``regressor``); ``k`` larger than the
  sampled records is an error;
- ``dimension_reduction_type`` (``sign`` or ``fjlt``, default none) with
  ``dimension_reduction_target`` (required with a type, below ``feature_dim``): ``sign`` is
  a dense random +-1 projection, ``fjlt`` scikit-learn's sparse Johnson-Lindenstrauss
  projection (``SparseRandomProjection``), standing in for the Hadamard-based FJLT;
  requests are projected the same way;
- ``index_metric`` (``L2`` default, ``INNER_PRODUCT``, ``COSINE``): the neighbours'
  measure; ``INNER_PRODUCT`` and ``COSINE`` are refused with ``faiss.IVFPQ``, as SageMaker
  does;
- accepted and checked but without effect, since the search here is always exact:
  ``index_type`` (``faiss.Flat`` default, ``faiss.IVFFlat``, ``faiss.IVFPQ``),
  ``faiss_index_ivf_nlists`` (a positive integer or ``auto``) and ``faiss_index_pq_m``
  (one of 1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96); also
  ``mini_batch_size`` (default 5000): the data is read whole.

**Channels.** ``train`` (required) and ``test`` (optional): ``text/csv`` with the label in
the first column, or ``application/x-recordio-protobuf`` (dense or sparse) with labels;
File, FastFile or Pipe mode.

**Metrics.** With a test channel, ``test:accuracy`` (classifier) or ``test:mse``
(regressor), printed as SageMaker's k-NN does (``#test_score (algo-1) : ('accuracy', 0.98)``)
and as ``#quality_metric: host=algo-1, test accuracy <score>=0.98``.

**Artifact.** ``model/model_algo-1``, a numpy ``.npz`` archive (``np.load`` reads it, no
pickle): ``features`` (the sampled, reduced records, float32), ``labels``, ``projection``
(``(target, feature_dim)``, empty without reduction), ``k``, ``predictor_type``,
``index_metric``, ``feature_dim``, and the other hyperparameters as strings.

**Inference.** Requests ``text/csv`` (no label; ``label_size`` drops leading columns),
``application/json``, ``application/jsonlines`` (dense or sparse instances) and
``application/x-recordio-protobuf``. Answers (``Accept``, default JSON):
``{"predictions":[{"predicted_label":0.0}]}``, JSON Lines ``{"predicted_label":0.0}``,
RecordIO-protobuf records whose label map holds ``predicted_label``. With
``;verbose=true`` on the Accept type each answer adds ``distances`` (nearest first:
Euclidean for ``L2``, ``1 - cos`` for ``COSINE``, the negated inner product for
``INNER_PRODUCT``) and ``labels``, the neighbours' labels in the same order.
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import metric_definitions as _definitions

METRICS = ("test:accuracy", "test:mse")


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for this algorithm, as regexes over its log."""
    return _definitions(METRICS)
