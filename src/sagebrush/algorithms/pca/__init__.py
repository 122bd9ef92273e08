"""SageMaker's built-in PCA algorithm, on scikit-learn.

Hyperparameters (SageMaker's names, defaults and ranges):

- ``feature_dim`` (required, positive integer): the width of every record.
- ``num_components`` (required, positive integer, at most ``feature_dim``).
- ``mini_batch_size`` (required, positive integer): validated; no effect, the
  decomposition is computed on the whole channel at once.
- ``algorithm_mode``: ``regular`` (default; an exact SVD, ``sklearn.decomposition.PCA``
  with ``svd_solver="full"``) or ``randomized`` (``svd_solver="randomized"``).
- ``extra_components`` (integer >= 0, or -1, the default, for ``max(10, num_components)``):
  the randomized SVD's oversampling; ignored in regular mode, as in SageMaker.
- ``subtract_mean`` (``true`` by default): center the data in training and at inference.
  With ``false`` the decomposition is the SVD of the raw data.
- Accepted with no effect, as SageMaker's own configuration has them: ``force_dense``
  (records are always densified), ``epochs``, ``_log_level``, ``_kvstore``,
  ``_num_kv_servers``, ``_num_gpus``.

Channels: ``train`` (required) and ``test`` (optional), File, FastFile or Pipe mode.
Content types: ``application/x-recordio-protobuf`` (the default when the channel names
none, as the SDK's ``record_set()`` sends it) and ``text/csv`` (``label_size=0``: every
column is a feature). Labels in the data are ignored.

Metrics: SageMaker publishes none for PCA (it is not tunable), so ``metric_definitions``
is empty. The log still reports, in the ``#quality_metric`` format, ``train
explained_variance_ratio`` (the share of the training data's variance the components
keep) and, with a test channel, ``test explained_variance_ratio`` and ``test
reconstruction_error`` (the mean squared distance between a test record and its
reconstruction from the components).

Artifact: ``model/model_algo-1``, a NumPy ``.npz`` archive (``np.load`` reads it despite
the name) with SageMaker's keys and layout: ``s`` (the singular values, ascending, shape
``(num_components,)``), ``v`` (``(feature_dim, num_components)``, column ``i`` the
component of ``s[i]``) and ``mean`` (``(1, feature_dim)``; zeros when ``subtract_mean``
is false). As in SageMaker, the strongest component comes LAST.

Inference: requests ``text/csv``, ``application/json``, ``application/jsonlines`` and
``application/x-recordio-protobuf`` (dense or sparse rows of ``feature_dim`` values);
each row's projection is ``(x - mean) @ v`` (float32), so its components follow ``v``'s
order. Responses (``Accept``; ``application/json`` when missing or ``*/*``):
``application/json`` ``{"projections": [{"projection": [...]}, ...]}``,
``application/jsonlines`` ``{"projection": [...]}`` per line, and
``application/x-recordio-protobuf`` (one record per row, label ``projection``).
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import metric_definitions as _definitions


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for PCA: none."""
    return _definitions([])
