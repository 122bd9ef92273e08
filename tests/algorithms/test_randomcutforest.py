"""Training the built-in Random Cut Forest: the forest, its scores, channels and errors."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from tests.algorithms._support import Channel, csv_bytes, failure, instance, runtime, train

from sagebrush.algorithms import randomcutforest
from sagebrush.algorithms.randomcutforest._forest import Forest, build, load

RNG = np.random.default_rng(11)
CSV0 = "text/csv;label_size=0"


def _anomalies(normal: int = 2000, far: int = 20, dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Standard gaussian records and a few far off in every direction, shuffled."""
    rng = np.random.default_rng(5)
    points = rng.normal(size=(normal, dim))
    directions = rng.normal(size=(far, dim))
    outliers = 8 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    features = np.vstack([points, outliers]).astype(np.float32)
    labels = np.r_[np.zeros(normal), np.ones(far)]
    order = rng.permutation(len(labels))
    return features[order], labels[order]


def _reference_score(forest: Forest, x: np.ndarray) -> float:
    """AWS's AnomalyScoreVisitor, node by node from the leaf back to the root."""
    total = 0.0
    x = x.astype(np.float64)
    for root in forest.roots:
        path, node = [], int(root)
        while forest.dim[node] >= 0:
            path.append(node)
            below = x[forest.dim[node]] <= forest.cut[node]
            node = int(forest.left[node] if below else forest.right[node])
        tree_mass, mass, depth = forest.mass[root], forest.mass[node], len(path)
        if np.array_equal(forest.lo[node], x):
            score = (1 - mass / (2 * tree_mass)) / (depth + np.log2(mass + 1))
        else:
            score = 1 / (depth + 1)
            for level in reversed(range(depth)):
                lo, hi = forest.lo[path[level]], forest.hi[path[level]]
                widened = (np.maximum(hi, x) - np.minimum(lo, x)).sum()
                p = (widened - (hi - lo).sum()) / widened
                if p <= 0:
                    break  # inside this box, so inside every box above it too
                score = p / (level + 1) + (1 - p) * score
        total += score * np.log2(tree_mass + 1)
    return total / forest.trees


def test_vectorised_scores_match_the_visitor_walked_node_by_node():
    rng = np.random.default_rng(3)
    data = np.round(rng.normal(size=(300, 4)), 1).astype(np.float32)  # repeats: mass > 1
    samples = data[np.stack([rng.choice(300, 64, replace=False) for _ in range(8)])]
    forest = build(samples, np.random.default_rng(0))
    queries = np.vstack([data[:40], rng.normal(scale=3, size=(40, 4))]).astype(np.float32)
    expected = [_reference_score(forest, q) for q in queries]
    np.testing.assert_allclose(forest.score(queries), expected, rtol=1e-6)


def test_trees_are_random_cut_trees_over_their_samples():
    samples = np.random.default_rng(4).normal(size=(5, 50, 3)).astype(np.float32)
    forest = build(samples, np.random.default_rng(1))
    assert forest.trees == 5
    np.testing.assert_array_equal(forest.mass[forest.roots], 50)
    np.testing.assert_array_equal(forest.depth[forest.roots], 0)
    inner = np.flatnonzero(forest.dim >= 0)
    leaves = np.flatnonzero(forest.dim < 0)
    # Every leaf is one point; distinct samples make 50 leaves per tree.
    assert len(leaves) == 5 * 50 and (forest.mass[leaves] == 1).all()
    np.testing.assert_array_equal(forest.lo[leaves], forest.hi[leaves])
    for side in (forest.left, forest.right):
        child = side[inner]
        assert (child > inner).all()
        assert (forest.depth[child] == forest.depth[inner] + 1).all()
        assert (forest.lo[child] >= forest.lo[inner]).all()
        assert (forest.hi[child] <= forest.hi[inner]).all()
    np.testing.assert_array_equal(
        forest.mass[forest.left[inner]] + forest.mass[forest.right[inner]], forest.mass[inner]
    )
    # The cut splits the box: the left child's top is at most the cut, the right's bottom above.
    dims = forest.dim[inner]
    left_hi = forest.hi[forest.left[inner], dims]
    right_lo = forest.lo[forest.right[inner], dims]
    assert (left_hi <= forest.cut[inner]).all() and (right_lo > forest.cut[inner]).all()


def test_cut_dimension_is_chosen_in_proportion_to_its_range():
    # Two points spanning 9 in x and 1 in y: a root cut on x 90% of the time, uniform in x.
    samples = np.tile(np.asarray([[0, 0], [9, 1]], np.float32), (4000, 1, 1))
    forest = build(samples, np.random.default_rng(2))
    dims = forest.dim[forest.roots]
    assert abs((dims == 0).mean() - 0.9) < 0.02
    cuts = forest.cut[forest.roots][dims == 0]
    assert abs(cuts.mean() - 4.5) < 0.15 and cuts.min() >= 0 and cuts.max() < 9


def test_injected_anomalies_score_highest(tmp_path):
    features, labels = _anomalies()
    root = instance(
        tmp_path, {"feature_dim": 3}, train=Channel({"train.csv": csv_bytes(features)}, CSV0)
    )
    assert train("randomcutforest", root) == 0, failure(root)
    forest = runtime("randomcutforest", root).forest  # type: ignore[attr-defined]
    scores = forest.score(features)
    assert roc_auc_score(labels, scores) >= 0.99
    assert scores[labels == 1].min() > np.percentile(scores[labels == 0], 99)
    assert 0.4 < np.median(scores) < 1.2  # AWS's scale: typical records about 1


def test_same_data_same_forest_and_scores(tmp_path):
    features, _ = _anomalies(300, 3)
    models = []
    for run in ("a", "b"):
        root = instance(
            tmp_path / run,
            {"feature_dim": 3, "num_trees": 50, "num_samples_per_tree": 64},
            train=Channel({"train.csv": csv_bytes(features)}, CSV0),
        )
        assert train("randomcutforest", root) == 0, failure(root)
        models.append(load(root / "model"))
    first, second = models
    for name, array in first.arrays().items():
        np.testing.assert_array_equal(array, second.arrays()[name], err_msg=name)
    np.testing.assert_array_equal(first.score(features), second.score(features))


def test_artifact_is_a_plain_npz_with_hyperparameters(tmp_path):
    features, _ = _anomalies(200, 2)
    root = instance(
        tmp_path,
        {"feature_dim": 3, "num_trees": 60, "num_samples_per_tree": 32, "mini_batch_size": 1000},
        train=Channel({"train.csv": csv_bytes(features)}, CSV0),
    )
    assert train("randomcutforest", root) == 0, failure(root)
    with np.load(root / "model" / "model_algo-1", allow_pickle=False) as archive:
        assert int(archive["feature_dim"]) == 3
        assert int(archive["num_trees"]) == 60 and len(archive["roots"]) == 60
        assert int(archive["num_samples_per_tree"]) == 32
        assert archive["mass"][archive["roots"]].tolist() == [32] * 60


def test_test_channel_logs_sagemakers_metrics(tmp_path, capsys):
    features, _ = _anomalies(1000, 0)
    normal = np.random.default_rng(8).normal(size=(200, 3)).astype(np.float32)
    test_features = np.vstack([normal, np.full((10, 3), 9.0, np.float32)])
    truth = np.r_[np.zeros(200), np.ones(10)]
    root = instance(
        tmp_path,
        {"feature_dim": 3, "eval_metrics": '["accuracy", "precision_recall_fscore"]'},
        train=Channel({"train.csv": csv_bytes(features)}, CSV0),
        test=Channel({"test.csv": csv_bytes(test_features, truth)}, "text/csv;label_size=1"),
    )
    assert train("randomcutforest", root) == 0, failure(root)
    log = capsys.readouterr().out
    found = {}
    for definition in randomcutforest.metric_definitions():
        match = re.search(definition["Regex"], log)
        assert match, definition["Name"]
        found[definition["Name"]] = float(match.group(1))
    # The three-sigma rule over the training scores, computed here with scikit-learn.
    forest = load(root / "model")
    train_scores = forest.score(features)
    flagged = forest.score(test_features) > train_scores.mean() + 3 * train_scores.std()
    assert found == pytest.approx(
        {
            "test:accuracy": accuracy_score(truth, flagged),
            "test:precision": precision_score(truth, flagged),
            "test:recall": recall_score(truth, flagged),
            "test:f1": f1_score(truth, flagged),
        },
        rel=1e-12,
    )
    assert found["test:recall"] == 1.0  # every far record is caught
    assert "#quality_metric: host=algo-1, test f1 <score>=" in log
    assert "#test_score (algo-1) : ('f1', " in log


def test_eval_metrics_chooses_what_is_reported(tmp_path, capsys):
    features, _ = _anomalies(300, 0)
    test = csv_bytes(features[:50], np.zeros(50))
    root = instance(
        tmp_path,
        {"feature_dim": 3, "num_trees": 50, "eval_metrics": '["accuracy"]'},
        train=Channel({"train.csv": csv_bytes(features)}, CSV0),
        test=Channel({"test.csv": test}),  # text/csv: label_size=1 is the test default
    )
    assert train("randomcutforest", root) == 0, failure(root)
    log = capsys.readouterr().out
    assert "test accuracy <score>=" in log
    assert "test f1" not in log and "test precision" not in log


def test_recordio_protobuf_from_the_sdk_in_pipe_mode(tmp_path):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    features, labels = _anomalies(500, 5)
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features)
    test = io.BytesIO()
    write_numpy_to_dense_tensor(test, features, labels)
    protobuf = "application/x-recordio-protobuf"
    root = instance(
        tmp_path,
        {"feature_dim": 3, "num_trees": 50, "num_samples_per_tree": 128},
        train=Channel({"part-0": buffer.getvalue()}, protobuf, mode="Pipe"),
        test=Channel({"part-0": test.getvalue()}, protobuf, mode="Pipe"),
    )
    assert train("randomcutforest", root) == 0, failure(root)
    scores = load(root / "model").score(features)
    assert roc_auc_score(labels, scores) >= 0.99


def test_sparse_recordio_protobuf_trains(tmp_path):
    import scipy.sparse as sp
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor

    features, _ = _anomalies(200, 2)
    features[np.abs(features) < 0.8] = 0
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, sp.csr_matrix(features))
    root = instance(
        tmp_path,
        {"feature_dim": 3, "num_trees": 50},
        train=Channel({"part-0": buffer.getvalue()}, "application/x-recordio-protobuf"),
    )
    assert train("randomcutforest", root) == 0, failure(root)
    forest = load(root / "model")
    np.testing.assert_array_equal(forest.lo[forest.roots[0]], features.min(axis=0))


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({}, "Missing required hyperparameter: feature_dim"),
        ({"feature_dim": 0}, "Hyperparameter feature_dim: value '0' is invalid"),
        ({"feature_dim": 3, "num_trees": 49}, "it must be an integer in [50, 1000]"),
        ({"feature_dim": 3, "num_samples_per_tree": 4096}, "it must be an integer in [1, 2048]"),
        ({"feature_dim": 3, "eval_metrics": '["auc"]'}, "Hyperparameter eval_metrics"),
        ({"feature_dim": 3, "num_tree": 100}, "Unknown hyperparameter(s): num_tree"),
        ({"feature_dim": 4}, "has 3 feature column(s) but hyperparameter feature_dim is 4"),
    ],
)
def test_bad_hyperparameters_fail_with_a_client_error(tmp_path, hyperparameters, message):
    features, _ = _anomalies(60, 0)
    root = instance(
        tmp_path, hyperparameters, train=Channel({"train.csv": csv_bytes(features)}, CSV0)
    )
    assert train("randomcutforest", root) == 1
    assert failure(root).startswith("ClientError: ")
    assert message in failure(root)


def test_channel_problems_fail_with_a_client_error(tmp_path):
    features, _ = _anomalies(60, 0)
    data = csv_bytes(features)
    cases = {
        "no-train": ({}, "Channel 'train' is required but was not provided"),
        "libsvm": (
            {"train": Channel({"a": b"0 1:1\n"}, "text/libsvm")},
            "Content type text/libsvm is not supported for channel 'train'",
        ),
        "nan": (
            {"train": Channel({"a": data + b"1.0,,2.0\n"}, CSV0)},
            "Channel 'train' has missing, NaN or infinite feature values",
        ),
        "unlabelled-test": (
            {"train": Channel({"a": data}, CSV0), "test": Channel({"a": data}, CSV0)},
            "Channel 'test' needs one label per record",
        ),
        "bad-labels": (
            {
                "train": Channel({"a": data}, CSV0),
                "test": Channel({"a": csv_bytes(features, np.full(60, 2.0))}),
            },
            "Channel 'test' labels must be 0 (normal) or 1 (anomaly)",
        ),
    }
    for name, (channels, message) in cases.items():
        root = instance(tmp_path / name, {"feature_dim": 3, "num_trees": 50}, **channels)
        assert train("randomcutforest", root) == 1, name
        assert failure(root).startswith("ClientError: "), name
        assert message in failure(root), name


def test_metric_definitions_are_sagemakers_names():
    names = [d["Name"] for d in randomcutforest.metric_definitions()]
    assert names == ["test:accuracy", "test:precision", "test:recall", "test:f1"]
    regex = dict((d["Name"], d["Regex"]) for d in randomcutforest.metric_definitions())
    line = "#quality_metric: host=algo-1, test f1 <score>=0.8333333333333334"
    match = re.search(regex["test:f1"], line)
    assert match and float(match.group(1)) == pytest.approx(0.8333333333333334)
    assert not re.search(regex["test:recall"], line)


def test_scoring_ten_thousand_records_is_quick():
    import time

    samples = RNG.normal(size=(100, 256, 5)).astype(np.float32)
    forest = build(samples, np.random.default_rng(0))
    records = RNG.normal(size=(10_000, 5)).astype(np.float32)
    started = time.process_time()
    scores = forest.score(records)
    # About 2 s of CPU on a loaded shared core; the bound only catches a lost vectorisation.
    assert time.process_time() - started < 20
    assert scores.shape == (10_000,) and np.isfinite(scores).all()
