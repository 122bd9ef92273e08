"""SageMaker's built-in Random Cut Forest (RCF) anomaly detector, as a numpy forest.

**Model.** The robust random cut forest of Guha et al., "Robust Random Cut Forest Based
Anomaly Detection on Streams" (ICML 2016), with the anomaly score of AWS's own RCF library
(github.com/aws/random-cut-forest-by-aws); ``_forest`` gives the exact formula. Each tree
takes a uniform sample, without replacement, of ``num_samples_per_tree`` training records
(all of them when there are fewer), drawn with a fixed seed, so a job's forest and scores
are repeatable. Scores are about 1 for typical records and larger the more anomalous.

**Hyperparameters** (SageMaker's names, ranges and defaults):

- ``feature_dim`` (required, 1-10000): the number of features; the data must match it;
- ``num_samples_per_tree`` (1-2048, default 256), ``num_trees`` (50-1000, default 100);
- ``eval_metrics``: a list of ``accuracy`` and ``precision_recall_fscore`` (default both),
  what the test channel reports;
- ``mini_batch_size``: accepted (the SDK always sends 1000) and has no effect: the forest
  reads its sample from the whole channel.

**Channels.** ``train`` (required) and ``test`` (optional), ``text/csv`` or
``application/x-recordio-protobuf`` (dense or sparse), File, FastFile or Pipe mode. Train
CSV has no label column (``text/csv;label_size=0``, the default here); test CSV has the
0/1 anomaly label first (``text/csv;label_size=1``, the default for test), RecordIO test
records carry it as their label.

**Metrics.** With a test channel, test records whose score is more than three standard
deviations above the mean score of the training records (the three-sigma rule SageMaker's
tuning page describes; training scores come from at most 100,000 records) are labelled
anomalous and compared with the given labels: ``test:accuracy`` (``accuracy``) and, for
the anomaly class, ``test:precision``, ``test:recall`` and ``test:f1`` — the tuning
objective — (``precision_recall_fscore``), each printed as
``#quality_metric: host=algo-1, test f1 <score>=0.83``.

**Artifact.** ``model/model_algo-1``, a numpy ``.npz`` archive (``np.load`` reads it, no
pickle): the nodes of all trees in flat arrays — ``dim`` (cut dimension, -1 at leaves),
``cut`` (``x[dim] <= cut`` goes ``left``, else ``right``), ``lo``/``hi`` (bounding
boxes), ``mass`` (sample records under the node), ``depth``, ``roots`` (each tree's root)
— plus ``feature_dim``, ``num_trees`` and ``num_samples_per_tree``.

**Inference.** Requests ``text/csv`` (no label; ``label_size`` drops leading columns),
``application/json`` and ``application/jsonlines`` (dense or sparse instances),
``application/x-recordio-protobuf``. Answers (``Accept``, default JSON):
``application/json`` ``{"scores":[{"score":0.02},{"score":0.25}]}``,
``application/jsonlines`` ``{"score": 0.02}`` per line, RecordIO-protobuf records whose
label map holds ``score``, and ``text/csv`` (one score per line).
"""

from __future__ import annotations

from sagebrush.algorithms.metrics import metric_definitions as _definitions

METRICS = ("test:accuracy", "test:precision", "test:recall", "test:f1")


def metric_definitions() -> list[dict[str, str]]:
    """The metrics SageMaker publishes for this algorithm, as regexes over its log."""
    return _definitions(METRICS)
