"""The built-in PCA: training on scikit-learn, SageMaker's hyperparameters, data and errors."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from tests.algorithms._support import Channel, csv_bytes, failure, instance, runtime, train

from sagebrush.algorithms.pca import metric_definitions

REQUIRED = {"feature_dim": 64, "num_components": 10, "mini_batch_size": 500}


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return np.asarray(load_digits().data, dtype=np.float32)


def _model(root: Path) -> dict[str, np.ndarray]:
    # The artifact keeps SageMaker's file name; np.load reads it as the .npz it is.
    with np.load(root / "model" / "model_algo-1") as arrays:
        return {key: arrays[key] for key in arrays.files}


def _metrics(text: str) -> dict[str, float]:
    pattern = r"#quality_metric: host=algo-1, (\w+) (\w+) <\w+>=(\S+)"
    return {f"{c}:{m}": float(v) for c, m, v in re.findall(pattern, text)}


def _assert_same_up_to_sign(ours: np.ndarray, theirs: np.ndarray) -> None:
    # A component's sign is arbitrary: compare magnitudes, then signs column by column.
    scale = np.abs(theirs).max(axis=0)
    assert np.all(np.abs(np.abs(ours) - np.abs(theirs)) <= 1e-4 * scale)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours * signs, theirs, rtol=1e-4, atol=1e-4 * scale.max())


def test_projections_match_scikit_learn_on_digits(tmp_path, digits, capsys):
    root = instance(
        tmp_path, REQUIRED, train=Channel({"digits.csv": csv_bytes(digits)}, "text/csv")
    )
    assert train("pca", root) == 0, failure(root)
    reference = PCA(n_components=10, svd_solver="full").fit(digits.astype(np.float64))

    model = _model(root)
    assert model["s"].shape == (10,) and model["v"].shape == (64, 10)
    assert model["mean"].shape == (1, 64)
    # SageMaker's layout: singular values ascending, the strongest component last.
    assert np.all(np.diff(model["s"]) >= 0)
    np.testing.assert_allclose(model["s"][::-1], reference.singular_values_, rtol=1e-5)
    np.testing.assert_allclose(model["mean"][0], reference.mean_, rtol=1e-5, atol=1e-5)

    ours = np.asarray(
        [row["projection"] for row in _json(runtime("pca", root), csv_bytes(digits[:200]))]
    )
    theirs = reference.transform(digits[:200].astype(np.float64))[:, ::-1]
    _assert_same_up_to_sign(ours, theirs)

    variance = model["s"] ** 2 / (len(digits) - 1)
    np.testing.assert_allclose(variance[::-1], reference.explained_variance_, rtol=0.02)
    logged = _metrics(capsys.readouterr().out)["train:explained_variance_ratio"]
    assert logged == pytest.approx(reference.explained_variance_ratio_.sum(), rel=0.02)


def test_randomized_mode_explains_what_scikit_learn_does(tmp_path, digits):
    hyperparameters = {**REQUIRED, "algorithm_mode": "randomized", "extra_components": 20}
    root = instance(
        tmp_path, hyperparameters, train=Channel({"d.csv": csv_bytes(digits)}, "text/csv")
    )
    assert train("pca", root) == 0, failure(root)
    reference = PCA(n_components=10, svd_solver="full").fit(digits.astype(np.float64))
    variance = _model(root)["s"][::-1] ** 2 / (len(digits) - 1)
    np.testing.assert_allclose(variance, reference.explained_variance_, rtol=0.02)
    assert variance.sum() == pytest.approx(reference.explained_variance_.sum(), rel=0.02)


def test_subtract_mean_false_decomposes_the_raw_data(tmp_path, digits):
    hyperparameters = {**REQUIRED, "num_components": 5, "subtract_mean": "false"}
    root = instance(
        tmp_path, hyperparameters, train=Channel({"d.csv": csv_bytes(digits)}, "text/csv")
    )
    assert train("pca", root) == 0, failure(root)
    model = _model(root)
    assert not model["mean"].any()
    _, singular, vt = np.linalg.svd(digits.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(model["s"][::-1], singular[:5], rtol=1e-5)
    ours = np.asarray([r["projection"] for r in _json(runtime("pca", root), csv_bytes(digits))])
    _assert_same_up_to_sign(ours, (digits.astype(np.float64) @ vt[:5].T)[:, ::-1])


def test_recordio_protobuf_from_the_sdk_writer_with_a_test_channel(tmp_path, digits, capsys):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    buffer = io.BytesIO()
    labels = np.asarray(load_digits().target, dtype=np.float32)  # read, and ignored
    write_numpy_to_dense_tensor(buffer, digits, labels)
    data = buffer.getvalue()
    # No ContentType: what the SDK's record_set() channels send; RecordIO-protobuf it is.
    root = instance(tmp_path, REQUIRED, train=Channel({"p": data}), test=Channel({"p": data}))
    assert train("pca", root) == 0, failure(root)
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["test:explained_variance_ratio"] == pytest.approx(
        metrics["train:explained_variance_ratio"]
    )
    reference = PCA(n_components=10, svd_solver="full").fit(digits.astype(np.float64))
    residual = digits - reference.inverse_transform(reference.transform(digits))
    expected = np.mean(np.sum(residual.astype(np.float64) ** 2, axis=1))
    assert metrics["test:reconstruction_error"] == pytest.approx(expected, rel=1e-3)


def test_pipe_mode(tmp_path, digits):
    root = instance(
        tmp_path,
        {**REQUIRED, "num_components": 3},
        train=Channel(
            {"a": csv_bytes(digits[:900]), "b": csv_bytes(digits[900:])}, "text/csv", "Pipe"
        ),
    )
    assert train("pca", root) == 0, failure(root)
    reference = PCA(n_components=3, svd_solver="full").fit(digits.astype(np.float64))
    np.testing.assert_allclose(_model(root)["s"][::-1], reference.singular_values_, rtol=1e-5)


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        (
            {"feature_dim": 64, "mini_batch_size": 10},
            "ClientError: Missing required hyperparameter: num_components",
        ),
        (
            {"feature_dim": 64, "num_components": 3},
            "ClientError: Missing required hyperparameter: mini_batch_size",
        ),
        (
            {**REQUIRED, "num_components": 65},
            "ClientError: Hyperparameter num_components (65) must not be greater than "
            "feature_dim (64)",
        ),
        (
            {**REQUIRED, "num_components": 0},
            "ClientError: Hyperparameter num_components: value '0' is invalid: "
            "it must be an integer in [1, inf)",
        ),
        (
            {**REQUIRED, "algorithm_mode": "fast"},
            "ClientError: Hyperparameter algorithm_mode: value 'fast' is invalid: "
            "it must be one of regular, randomized",
        ),
        (
            {**REQUIRED, "extra_components": -2},
            "ClientError: Hyperparameter extra_components: value '-2' is invalid: "
            "it must be an integer in [-1, inf)",
        ),
        (
            {**REQUIRED, "subtract_mean": "maybe"},
            "ClientError: Hyperparameter subtract_mean: value 'maybe' is invalid: "
            "it must be true or false",
        ),
        ({**REQUIRED, "num_componets": 3}, "ClientError: Unknown hyperparameter(s): num_componets"),
        (
            {**REQUIRED, "feature_dim": 8, "num_components": 2},
            "ClientError: Records in channel 'train' have 64 feature(s) but hyperparameter "
            "feature_dim is 8",
        ),
    ],
)
def test_bad_hyperparameters_fail_clearly(tmp_path, digits, hyperparameters, message):
    root = instance(
        tmp_path, hyperparameters, train=Channel({"d.csv": csv_bytes(digits[:50])}, "text/csv")
    )
    assert train("pca", root) == 1
    assert failure(root).startswith(message), failure(root)


def test_more_components_than_records_fail_clearly(tmp_path, digits):
    root = instance(tmp_path, REQUIRED, train=Channel({"d.csv": csv_bytes(digits[:5])}, "text/csv"))
    assert train("pca", root) == 1
    assert failure(root) == (
        "ClientError: Hyperparameter num_components (10) is greater than the number of "
        "training records (5): there are at most 5 principal components"
    )


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({}, "ClientError: Channel 'train' is required for PCA training"),
        (
            {"validation": "text/csv"},
            "ClientError: Channel(s) validation not supported by PCA: "
            "use 'train' and optionally 'test'",
        ),
        (
            {"train": "text/libsvm"},
            "ClientError: Content type text/libsvm is not supported for channel 'train': "
            "supported content types are application/x-recordio-protobuf, text/csv",
        ),
    ],
)
def test_bad_channels_fail_clearly(tmp_path, digits, channels, message):
    data = csv_bytes(digits[:50])
    root = instance(
        tmp_path, REQUIRED, **{name: Channel({"d": data}, ct) for name, ct in channels.items()}
    )
    assert train("pca", root) == 1
    assert failure(root) == message


def test_sagemaker_publishes_no_pca_metrics():
    assert metric_definitions() == []


def _json(rt, body: bytes) -> list[dict[str, list[float]]]:
    prediction = rt.invoke(body, "text/csv", "application/json")
    assert prediction.status == 200
    return list(json.loads(prediction.body)["projections"])
