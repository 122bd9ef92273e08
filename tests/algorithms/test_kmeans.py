"""The built-in K-Means: training on scikit-learn, SageMaker's hyperparameters, data and errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

from sagebrush.algorithms.kmeans import metric_definitions

REQUIRED = {"k": 10, "feature_dim": 64}


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return np.asarray(load_digits().data, dtype=np.float32)


@pytest.fixture(scope="module")
def sklearn_inertia(digits) -> float:
    """scikit-learn's KMeans with the settings SageMaker's local Lloyd stage defaults to."""
    model = KMeans(n_clusters=10, init="k-means++", n_init=10, max_iter=300, tol=1e-4)
    return float(model.fit(digits.astype(np.float64)).inertia_)


def _centers(root: Path) -> np.ndarray:
    # The artifact keeps SageMaker's file name; np.load reads it as the .npz it is.
    with np.load(root / "model" / "model_algo-1") as arrays:
        return np.asarray(arrays["centers"])


def _metrics(text: str) -> dict[str, float]:
    pattern = r"#quality_metric: host=algo-1, (\w+) (\w+) <loss>=(\S+)"
    return {f"{c}:{m}": float(v) for c, m, v in re.findall(pattern, text)}


def _squared_distances(features: np.ndarray, centers: np.ndarray) -> np.ndarray:
    x = features.astype(np.float64)
    c = centers.astype(np.float64)
    return np.min(((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)


def test_inertia_on_digits_is_within_2_percent_of_scikit_learn(
    tmp_path, digits, sklearn_inertia, capsys
):
    root = instance(
        tmp_path, REQUIRED, train=Channel({"digits.csv": csv_bytes(digits)}, "text/csv")
    )
    assert train("kmeans", root) == 0, failure(root)
    centers = _centers(root)
    assert centers.shape == (10, 64) and centers.dtype == np.float32
    inertia = _squared_distances(digits, centers).sum()
    assert inertia <= sklearn_inertia * 1.02, (inertia, sklearn_inertia)
    log = capsys.readouterr().out
    assert "shrinking 100 centers into 10" in log  # extra_center_factor auto = 10
    assert len(re.findall(r"local kmeans attempt #\d+\. Current", log)) == 10
    assert _metrics(log) == {"train:msd": pytest.approx(inertia / len(digits), rel=1e-6)}
    assert "Test data is not provided." in log


def test_recordio_protobuf_from_the_sdk_writer_with_a_test_channel(tmp_path, digits, capsys):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, digits[:1000], load_digits().target[:1000])
    test = io.BytesIO()
    write_numpy_to_dense_tensor(test, digits[1000:])
    # The hyperparameters the SDK's KMeans estimator sends, as its unit tests show them.
    hyperparameters = {
        "k": "10",
        "feature_dim": "64",
        "mini_batch_size": "500",
        "init_method": "kmeans++",
        "local_lloyd_max_iter": "100",
        "local_lloyd_tol": "0.001",
        "local_lloyd_num_trials": "5",
        "local_lloyd_init_method": "kmeans++",
        "half_life_time_size": "0",
        "epochs": "2",
        "extra_center_factor": "4",
        "eval_metrics": '["msd", "ssd"]',
        "force_dense": "True",
    }
    # No ContentType: what the SDK's record_set() channels send; RecordIO-protobuf it is.
    root = instance(
        tmp_path,
        hyperparameters,
        train=Channel({"train.pbr": buffer.getvalue()}),
        test=Channel({"test.pbr": test.getvalue()}),
    )
    assert train("kmeans", root) == 0, failure(root)
    log = capsys.readouterr().out
    assert "shrinking 40 centers into 10" in log
    assert len(re.findall(r"local kmeans attempt #\d+\. Current", log)) == 5
    assert "completed 50.0 % of epochs" in log
    distances = _squared_distances(digits[1000:], _centers(root))
    metrics = _metrics(log)
    assert metrics["test:msd"] == pytest.approx(distances.mean(), rel=1e-6)
    assert metrics["test:ssd"] == pytest.approx(distances.sum(), rel=1e-6)


def test_pipe_mode(tmp_path, digits, sklearn_inertia):
    data = {"a.csv": csv_bytes(digits[:1000]), "b.csv": csv_bytes(digits[1000:])}
    root = instance(tmp_path, REQUIRED, train=Channel(data, "text/csv;label_size=0", "Pipe"))
    assert train("kmeans", root) == 0, failure(root)
    inertia = _squared_distances(digits, _centers(root)).sum()
    assert inertia <= sklearn_inertia * 1.02


def test_metric_definitions_read_the_log_lines():
    definitions = {d["Name"]: re.compile(d["Regex"]) for d in metric_definitions()}
    assert set(definitions) == {"test:msd", "test:ssd", "train:msd"}
    line = "#quality_metric: host=algo-1, test ssd <loss>=1173500.84"
    assert definitions["test:ssd"].search(line).group(1) == "1173500.84"
    assert definitions["test:msd"].search(line) is None


def test_k_larger_than_the_data_fails_clearly(tmp_path, digits):
    root = instance(
        tmp_path,
        {**REQUIRED, "k": 20},
        train=Channel({"d.csv": csv_bytes(digits[:12])}, "text/csv"),
    )
    assert train("kmeans", root) == 1
    assert failure(root) == (
        "ClientError: Hyperparameter k (20) is greater than the number of records in channel "
        "'train' (12): k-means needs at least one record per cluster"
    )


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"feature_dim": 64}, "ClientError: Missing required hyperparameter: k"),
        ({"k": 3}, "ClientError: Missing required hyperparameter: feature_dim"),
        (
            {**REQUIRED, "k": 0},
            "ClientError: Hyperparameter k: value '0' is invalid: "
            "it must be an integer in [1, inf)",
        ),
        (
            {**REQUIRED, "init_method": "kmeans"},
            "ClientError: Hyperparameter init_method: value 'kmeans' is invalid: "
            "it must be one of random, kmeans++",
        ),
        (
            {**REQUIRED, "local_lloyd_tol": "2"},
            "ClientError: Hyperparameter local_lloyd_tol: value '2' is invalid: "
            "it must be a number in [0.0, 1.0]",
        ),
        (
            {**REQUIRED, "extra_center_factor": "0"},
            "ClientError: Hyperparameter extra_center_factor: value '0' is invalid: "
            "it must be an integer in [1, inf) or 'auto'",
        ),
        (
            {**REQUIRED, "eval_metrics": '["mse"]'},
            "ClientError: Hyperparameter eval_metrics: value '[\"mse\"]' is invalid: "
            "it must be a list of msd, ssd",
        ),
        (
            {**REQUIRED, "eval_metrics": "[]"},
            'ClientError: Hyperparameter eval_metrics: value [] is invalid: it must list "msd", '
            '"ssd" or both',
        ),
        (
            {**REQUIRED, "half_life_time_size": "-1"},
            "ClientError: Hyperparameter half_life_time_size: value '-1' is invalid: "
            "it must be an integer in [0, inf)",
        ),
        # The SDK estimator's argument name, not a hyperparameter SageMaker knows.
        (
            {**REQUIRED, "max_iterations": "5"},
            "ClientError: Unknown hyperparameter(s): max_iterations",
        ),
        (
            {**REQUIRED, "feature_dim": 8},
            "ClientError: Records in channel 'train' have 64 feature(s) but hyperparameter "
            "feature_dim is 8",
        ),
    ],
)
def test_bad_hyperparameters_fail_clearly(tmp_path, digits, hyperparameters, message):
    root = instance(
        tmp_path, hyperparameters, train=Channel({"d.csv": csv_bytes(digits[:50])}, "text/csv")
    )
    assert train("kmeans", root) == 1
    assert failure(root).startswith(message), failure(root)


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({}, "ClientError: Channel 'train' is required for K-Means training"),
        (
            {"train": "text/csv", "validation": "text/csv"},
            "ClientError: Channel(s) validation not supported by K-Means: "
            "use 'train' and optionally 'test'",
        ),
        (
            {"train": "application/x-parquet"},
            "ClientError: Content type application/x-parquet is not supported for channel "
            "'train': supported content types are application/x-recordio-protobuf, text/csv",
        ),
        (
            {"train": "text/csv", "test": "text/libsvm"},
            "ClientError: Content type text/libsvm is not supported for channel 'test': "
            "supported content types are application/x-recordio-protobuf, text/csv",
        ),
    ],
)
def test_bad_channels_fail_clearly(tmp_path, digits, channels, message):
    data = csv_bytes(digits[:50])
    root = instance(
        tmp_path, REQUIRED, **{name: Channel({"d": data}, ct) for name, ct in channels.items()}
    )
    assert train("kmeans", root) == 1
    assert failure(root) == message


def test_duplicate_records_still_give_k_centers(tmp_path):
    # Three distinct points, k=3, many copies: every stage sees ties and empty centers.
    points = np.repeat(np.asarray([[0, 0], [10, 0], [0, 10]], np.float32), 20, axis=0)
    root = instance(
        tmp_path,
        {"k": 3, "feature_dim": 2, "mini_batch_size": 7},
        train=Channel({"d.csv": csv_bytes(points)}, "text/csv"),
    )
    assert train("kmeans", root) == 0, failure(root)
    centers = _centers(root)
    ordered = centers[np.lexsort(np.round(centers).T[::-1])]
    np.testing.assert_allclose(ordered, [[0, 0], [0, 10], [10, 0]], atol=1e-5)


def test_fewer_distinct_records_than_k_still_train(tmp_path, capsys):
    # Two distinct points and k=3: SageMaker's limit is on records, not distinct ones.
    points = np.repeat(np.asarray([[0, 0], [10, 0]], np.float32), 20, axis=0)
    root = instance(
        tmp_path, {"k": 3, "feature_dim": 2}, train=Channel({"d": csv_bytes(points)}, "text/csv")
    )
    assert train("kmeans", root) == 0, failure(root)
    log = capsys.readouterr().out
    assert "2 of 30 centers hold records, fewer than k=3: shrinking from the 40 records" in log
    assert "Number of distinct clusters (2) found smaller than n_clusters (3)" in log
    assert _metrics(log) == {"train:msd": 0.0}
    assert _centers(root).shape == (3, 2)
