"""Built-in algorithms: each a module run inside a training instance, like SageMaker's images.

An algorithm package ``sagebrush.algorithms.<name>`` (the algorithm's SageMaker name with
``_`` for ``-``) has:

- ``__init__``: light metadata only — ``metric_definitions()``, the metrics SageMaker
  publishes for it (the platform adds them to the job's MetricDefinitions);
- ``__main__`` / ``_train``: ``python -m sagebrush.algorithms.<name> <instance-root>``
  reads the instance's ``/opt/ml`` tree, trains with a well-kept library, writes its model
  under ``model/`` and logs metrics as SageMaker's own algorithm does;
- ``_serve``: ``Runtime``, its ``serving.ModelRuntime`` for endpoints and batch transform.

Shared pieces: ``data`` (channels, content types, RecordIO-protobuf), ``hyperparameters``
(schemas with SageMaker's names, defaults and ranges), ``metrics`` (the log format and its
regexes), ``serving`` (request/response formats, the model server).
"""

from __future__ import annotations

# Algorithm name (as images.resolve_image reports it) -> its package.
IMPLEMENTED = {
    name: f"sagebrush.algorithms.{name.replace('-', '_')}"
    for name in (
        "xgboost",
        "linear-learner",
        "pca",
        "kmeans",
        "knn",
        "factorization-machines",
        "randomcutforest",
        "lightgbm",
    )
}
