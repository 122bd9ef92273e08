"""Training for the built-in Random Cut Forest: build the forest, score the test channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import Dataset, load_channel
from sagebrush.algorithms.hyperparameters import Integer, JsonList, Schema
from sagebrush.algorithms.metrics import log_metric
from sagebrush.algorithms.randomcutforest._forest import (
    Forest,
    build,
    sample_indices,
    save,
)

EVAL_METRICS = ("accuracy", "precision_recall_fscore")
SCHEMA = Schema(
    Integer("feature_dim", required=True, low=1, high=10000),
    Integer("num_samples_per_tree", 256, low=1, high=2048),
    Integer("num_trees", 100, low=50, high=1000),
    JsonList("eval_metrics", list(EVAL_METRICS), allowed=EVAL_METRICS),
    # The SDK always sends it (RCF's is fixed at 1000); the forest reads the data whole.
    Integer("mini_batch_size", 1000, low=1),
)
# SageMaker's RCF takes no seed: a fixed one makes a job's forest and scores repeatable.
SEED = 0
# Training rows scored for the test threshold (mean + 3 std): all of them up to this many,
# else a uniform sample of this many — plenty to pin down a mean and a deviation.
THRESHOLD_ROWS = 100_000


def train(instance: Instance) -> None:
    params = SCHEMA.parse(instance.hyperparameters)
    feature_dim = params["feature_dim"]
    # Unsupervised: a CSV train channel has no label column unless it says label_size.
    data = load_channel(instance, "train", label_size=0)
    _check_features(data, feature_dim, "train")
    rng = np.random.default_rng(SEED)
    picks = sample_indices(len(data), params["num_trees"], params["num_samples_per_tree"], rng)
    samples = _rows(data, picks.ravel()).reshape(*picks.shape, feature_dim)
    forest = build(samples, rng)
    print(
        f"Built {forest.trees} trees of {picks.shape[1]} samples each "
        f"from {len(data)} training records ({len(forest.dim)} nodes)",
        flush=True,
    )
    if "test" in instance.channels:
        evaluate(instance, forest, data, params["eval_metrics"], rng)
    save(
        forest,
        instance.model_dir,
        feature_dim=feature_dim,
        num_trees=params["num_trees"],
        num_samples_per_tree=params["num_samples_per_tree"],
    )


def evaluate(
    instance: Instance,
    forest: Forest,
    data: Dataset,
    metrics: list[Any],
    rng: np.random.Generator,
) -> None:
    """Label test records anomalous past the training scores' mean + 3 std; log the fit."""
    test = load_channel(instance, "test", label_size=1)
    _check_features(test, forest.features, "test")
    if test.labels is None or test.labels.ndim != 1:
        raise ClientError(
            "Channel 'test' needs one label per record, the 0/1 anomaly label "
            "(text/csv;label_size=1 with the label first, or RecordIO-protobuf labels)"
        )
    truth = test.labels
    if not np.isin(truth, (0.0, 1.0)).all():
        raise ClientError("Channel 'test' labels must be 0 (normal) or 1 (anomaly)")
    picks = np.arange(len(data))
    if len(data) > THRESHOLD_ROWS:
        picks = np.sort(rng.choice(len(data), THRESHOLD_ROWS, replace=False))
    train_scores = forest.score(_rows(data, picks))
    threshold = float(train_scores.mean() + 3.0 * train_scores.std())
    predicted = (forest.score(_rows(test, np.arange(len(test)))) > threshold).astype(np.float64)
    print(f"Anomaly threshold (mean + 3 std of training scores): {threshold!r}", flush=True)
    host = instance.current_host
    if "accuracy" in metrics:
        _report(host, "accuracy", float(accuracy_score(truth, predicted)))
    if "precision_recall_fscore" in metrics:
        precision, recall, f1, _ = precision_recall_fscore_support(
            truth, predicted, labels=[0.0, 1.0], zero_division=0.0
        )
        print(
            f"#test_score ({host}) : negative class precision={precision[0]!r} "
            f"recall={recall[0]!r} f1={f1[0]!r}",
            flush=True,
        )
        _report(host, "precision", float(precision[1]))
        _report(host, "recall", float(recall[1]))
        _report(host, "f1", float(f1[1]))


def _report(host: str, name: str, value: float) -> None:
    # Amazon's algorithms print both lines; the platform's regexes read the second.
    print(f"#test_score ({host}) : ({name!r}, {value!r})", flush=True)
    log_metric("test", name, value, host=host, kind="score")


def _check_features(data: Dataset, feature_dim: int, channel: str) -> None:
    """The channel has feature_dim columns of finite numbers."""
    if data.width != feature_dim:
        raise ClientError(
            f"Channel '{channel}' has {data.width} feature column(s) but hyperparameter "
            f"feature_dim is {feature_dim} (CSV: train has no label column; test has the "
            "label first, text/csv;label_size=1)"
        )
    values = data.features.data if sp.issparse(data.features) else data.features
    if not np.isfinite(values).all():
        raise ClientError(f"Channel '{channel}' has missing, NaN or infinite feature values")


def _rows(data: Dataset, picks: np.ndarray) -> np.ndarray:
    features = data.features[picks]
    rows = features.toarray() if sp.issparse(features) else np.asarray(features)
    return np.asarray(rows, dtype=np.float32)
