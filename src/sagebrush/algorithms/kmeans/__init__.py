"""SageMaker's built-in K-Means algorithm, on scikit-learn.

Training mirrors SageMaker's web-scale k-means in two stages. First a mini-batch k-means
(``sklearn.cluster.MiniBatchKMeans``, fed the channel's records in order, ``mini_batch_size``
at a time, for ``epochs`` passes) keeps ``K = k * extra_center_factor`` candidate
centers. Then the candidates, each weighted by the number of training records closest to
it, are shrunk to ``k`` centers by Lloyd's algorithm (``sklearn.cluster.KMeans``),
``local_lloyd_num_trials`` times from ``local_lloyd_init_method`` starts; the trial with
the least loss is the model.

Hyperparameters (SageMaker's names, defaults and ranges):

- ``k`` (required, positive integer, at most the number of training records) and
  ``feature_dim`` (required, positive integer: the width of every record).
- ``mini_batch_size`` (5000), ``epochs`` (1), ``init_method`` (``random`` | ``kmeans++``;
  ``random``): the mini-batch stage.
- ``extra_center_factor`` (positive integer or ``auto`` = 10).
- ``local_lloyd_max_iter`` (300), ``local_lloyd_tol`` (0.0001, in [0, 1]; scikit-learn's
  ``tol``, a tolerance on the centers' movement), ``local_lloyd_init_method``
  (``random`` | ``kmeans++``; ``kmeans++``), ``local_lloyd_num_trials`` (positive
  integer or ``auto`` = 10): the shrinking stage.
- ``eval_metrics`` (a JSON list of ``msd`` and ``ssd``; ``["msd"]``): what the test channel
  reports.
- ``half_life_time_size`` (non-negative integer, 0): validated; no effect (scikit-learn's
  mini-batch updates do not decay old points).
- Accepted with no effect, as SageMaker's own configuration has them: ``force_dense``
  (records are always densified; the SDK sends ``force_dense=True``),
  ``_disable_wait_to_read``, ``_enable_profiler``, ``_kvstore``, ``_log_level``,
  ``_num_gpus``, ``_num_kv_servers``, ``_num_slices``.

The SDK estimator's argument names (``max_iterations``, ``tol``, ``num_trials``,
``center_factor``, ``local_init_method``) are not hyperparameters: it sends them as
``local_lloyd_max_iter``, ``local_lloyd_tol``, ``local_lloyd_num_trials``,
``extra_center_factor`` and ``local_lloyd_init_method``, the names accepted here.

Channels: ``train`` (required) and ``test`` (optional), File, FastFile or Pipe mode (a Pipe
channel is read once, from its epoch-0 FIFO; further ``epochs`` pass over the records in
memory). Content types: ``application/x-recordio-protobuf`` (the default when the channel
names none, as the SDK's ``record_set()`` sends it) and ``text/csv`` (``label_size=0``:
every column is a feature). Labels in the data are ignored.

Metrics (SageMaker's names): ``train:msd`` (mean squared distance of the training records
to their closest center) and, with a test channel, ``test:msd`` and/or ``test:ssd`` (sum
of squared distances) as ``eval_metrics`` asks, logged as
``#quality_metric: host=algo-1, test msd <loss>=...``.

Artifact: ``model/model_algo-1``, a NumPy ``.npz`` archive (``np.load`` reads it despite
the name) holding ``centers``, the ``(k, feature_dim)`` float32 cluster centers — the one
array SageMaker's MXNet file holds.

Inference: requests ``text/csv``, ``application/json``, ``application/jsonlines`` and
``application/x-recordio-protobuf`` (dense or sparse rows of ``feature_dim`` values).
Each row gets ``closest_cluster`` (the center's index, as a float) and
``distance_to_cluster`` (the Euclidean distance to it). Responses (``Accept``;
``application/json`` when missing or ``*/*``): ``application/json``
``{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 3.0}, ...]}``,
``application/jsonlines`` (one such object per line), ``text/csv``
(``closest_cluster,distance_to_cluster`` per line) and
``application/x-recordio-protobuf`` (one record per row, label keys ``closest_cluster``
and ``distance_to_cluster``).
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import metric_definitions as _definitions

METRICS = ("test:msd", "test:ssd", "train:msd")


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for K-Means, as regexes over its log."""
    return _definitions(METRICS)
