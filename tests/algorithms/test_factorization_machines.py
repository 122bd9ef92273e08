"""Factorization Machines: the model's math, quality against scikit-learn, channels, errors.

Quality: an FM contains a linear model, so on breast_cancer (standardised) its accuracy
must be within 2% of scikit-learn's LogisticRegression (no more than 0.02 lower) and on
diabetes its RMSE within 2% of LinearRegression (no more than 2% higher). On XOR-like
data no linear model does better than chance; the pairwise term must.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tests.algorithms._support import Channel, csv_bytes, failure, instance, runtime, train

from sagebrush.algorithms.factorization_machines import metric_definitions
from sagebrush.algorithms.factorization_machines._model import (
    FactorizationMachine,
    forward,
    gradients,
    squared,
)

ALGORITHM = "factorization-machines"
RECORDIO = "application/x-recordio-protobuf"


def _records(features: np.ndarray | sp.spmatrix, labels: np.ndarray) -> Channel:
    buffer = io.BytesIO()
    if sp.issparse(features):
        write_spmatrix_to_sparse_tensor(
            buffer, sp.csr_matrix(features, dtype=np.float32), labels.astype(np.float32)
        )
    else:
        write_numpy_to_dense_tensor(buffer, features.astype(np.float32), labels.astype(np.float32))
    return Channel({"part": buffer.getvalue()}, RECORDIO)


def _standard_split(loader: object, test_size: float) -> tuple[np.ndarray, ...]:
    features, labels = loader(return_X_y=True)  # type: ignore[operator]
    stratify = labels if len(np.unique(labels)) == 2 else None
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=test_size, random_state=0, stratify=stratify
    )
    scaler = StandardScaler().fit(train_x)
    return scaler.transform(train_x), scaler.transform(test_x), train_y, test_y


def _trained(tmp_path: Path, hyperparameters: dict[str, object], **channels: Channel) -> Path:
    root = instance(tmp_path, hyperparameters, **channels)
    assert train(ALGORITHM, root) == 0, failure(root)
    return root


def _raw(root: Path, features: np.ndarray) -> np.ndarray:
    return FactorizationMachine.load(root / "model").raw(features)


def _metrics(log: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for definition in metric_definitions():
        values = [float(v) for v in re.findall(definition["Regex"], log)]
        if values:
            found[definition["Name"]] = values
    return found


def test_pairwise_term_equals_the_double_sum_and_gradients_match() -> None:
    random = np.random.default_rng(3)
    dense = random.normal(size=(5, 7)) * (random.random((5, 7)) < 0.5)
    w0, w, V = 0.3, random.normal(size=7), random.normal(size=(7, 3))
    brute = np.array(
        [
            w0 + x @ w + sum(V[i] @ V[j] * x[i] * x[j] for i in range(7) for j in range(i + 1, 7))
            for x in dense
        ]
    )
    for features in (dense, sp.csr_matrix(dense)):
        raw, xv = forward(w0, w, V, features)
        np.testing.assert_allclose(raw, brute, rtol=1e-12)
        # d(sum of raw)/dV by central differences.
        _, _, grad_v = gradients(V, features, squared(features), xv, np.ones(5))
        step = np.zeros_like(V)
        step[2, 1] = 1e-6
        numeric = (
            forward(w0, w, V + step, features)[0].sum()
            - forward(w0, w, V - step, features)[0].sum()
        ) / 2e-6
        assert grad_v[2, 1] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_binary_classifier_on_breast_cancer_matches_logistic_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, test_x, train_y, test_y = _standard_split(load_breast_cancer, 0.25)
    root = _trained(
        tmp_path,
        {
            "predictor_type": "binary_classifier",
            "feature_dim": 30,
            "num_factors": 4,
            "epochs": 30,
            "mini_batch_size": 32,
            "linear_lr": 0.01,
            "factors_lr": 0.001,
            "factors_init_sigma": 0.01,
        },
        train=_records(train_x, train_y),
        test=_records(test_x, test_y),
    )
    ours = float(np.mean((_raw(root, test_x) > 0) == test_y))
    reference = LogisticRegression().fit(train_x, train_y).score(test_x, test_y)
    assert ours >= reference - 0.02, (ours, reference)
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["test:binary_classification_accuracy"] == [pytest.approx(ours)]
    assert {"test:binary_classification_cross_entropy", "test:binary_f_beta"} <= set(metrics)
    assert len(metrics["train:binary_classification_accuracy"]) == 30  # one per epoch


def test_regressor_on_diabetes_matches_linear_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, test_x, train_y, test_y = _standard_split(load_diabetes, 0.2)
    root = _trained(
        tmp_path,
        {
            "predictor_type": "regressor",
            "feature_dim": 10,
            "num_factors": 4,
            "epochs": 50,
            "mini_batch_size": 32,
            "bias_lr": 1.0,
            "linear_lr": 0.1,
            "factors_lr": 0.001,
            "factors_init_sigma": 0.01,
        },
        train=_records(train_x, train_y),
        test=_records(test_x, test_y),
    )
    ours = float(np.sqrt(np.mean((_raw(root, test_x) - test_y) ** 2)))
    linear = LinearRegression().fit(train_x, train_y)
    reference = float(np.sqrt(np.mean((linear.predict(test_x) - test_y) ** 2)))
    assert reference * 0.9 < ours <= reference * 1.02, (ours, reference)
    assert _metrics(capsys.readouterr().out)["test:rmse"] == [pytest.approx(ours)]


def test_pairwise_term_learns_what_no_linear_model_can(tmp_path: Path) -> None:
    random = np.random.default_rng(1)
    signs = random.choice([-1.0, 1.0], size=(600, 2))
    features = np.hstack([signs + random.normal(0, 0.1, (600, 2)), random.normal(0, 1, (600, 3))])
    labels = (features[:, 0] * features[:, 1] > 0).astype(np.float64)  # XOR of the signs
    root = _trained(
        tmp_path,
        {
            "predictor_type": "binary_classifier",
            "feature_dim": 5,
            "num_factors": 2,
            "epochs": 30,
            "mini_batch_size": 32,
            "linear_lr": 0.01,
            "factors_lr": 0.05,
            "factors_init_sigma": 0.1,
        },
        train=_records(features[:400], labels[:400]),
    )
    ours = float(np.mean((_raw(root, features[400:]) > 0) == labels[400:]))
    reference = LogisticRegression().fit(features[:400], labels[:400])
    linear = reference.score(features[400:], labels[400:])
    assert linear < 0.6 and ours > 0.95, (ours, linear)


def test_sparse_records_in_pipe_mode(tmp_path: Path) -> None:
    # One-hot users and items, rating = user bias + item bias + their affinity.
    random = np.random.default_rng(2)
    users, items = random.integers(0, 20, 800), random.integers(0, 30, 800)
    taste, kind = random.normal(size=20), random.normal(size=30)
    ratings = 3.0 + 0.5 * taste[users] + 0.5 * kind[items] + taste[users] * kind[items]
    rows = np.repeat(np.arange(800), 2)
    onehot = sp.csr_matrix(
        (np.ones(1600), (rows, np.ravel(np.c_[users, 20 + items]))), shape=(800, 50)
    )
    channel = _records(onehot[:600], ratings[:600])
    root = _trained(
        tmp_path,
        {
            "predictor_type": "regressor",
            "feature_dim": 50,
            "num_factors": 2,
            "epochs": 60,
            "mini_batch_size": 50,
            "bias_lr": 0.1,
            "linear_lr": 0.05,
            "factors_lr": 0.05,
            "factors_init_sigma": 0.1,
        },
        train=Channel(channel.files, RECORDIO, "Pipe"),
    )
    rmse = float(np.sqrt(np.mean((_raw(root, onehot[600:]) - ratings[600:]) ** 2)))
    biases_only = LinearRegression().fit(onehot[:600], ratings[:600]).predict(onehot[600:])
    assert rmse < 0.8 * float(np.sqrt(np.mean((biases_only - ratings[600:]) ** 2)))


def test_artifact_is_an_npz_without_pickle(tmp_path: Path) -> None:
    features = np.eye(4)
    root = _trained(
        tmp_path,
        {"predictor_type": "binary_classifier", "feature_dim": 4, "num_factors": 3},
        train=_records(features, np.array([0.0, 1.0, 0.0, 1.0])),
    )
    with np.load(root / "model" / "model_algo-1", allow_pickle=False) as model:
        assert model["V"].shape == (4, 3) and model["w"].shape == (4,)
        assert str(model["predictor_type"]) == "binary_classifier"


FM = {"predictor_type": "regressor", "feature_dim": 3, "num_factors": 2}


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "message"),
    [
        (
            {"predictor_type": "regressor", "feature_dim": 3},
            "recordio",
            "Missing required hyperparameter: num_factors",
        ),
        (
            {**FM, "predictor_type": "multiclass_classifier"},
            "recordio",
            "predictor_type: value 'multiclass_classifier' is invalid",
        ),
        ({**FM, "factors_init_method": "xavier"}, "recordio", "factors_init_method: value 'xav"),
        ({**FM, "bias_lr": "-1"}, "recordio", "bias_lr: value '-1' is invalid"),
        (FM, "csv", "Content type text/csv is not supported for channel 'train'"),
        (
            {**FM, "feature_dim": 4},
            "recordio",
            "has 3 features per record; expected 4 (feature_dim)",
        ),
        (
            {**FM, "predictor_type": "binary_classifier"},
            "recordio",
            "labels of a binary_classifier must be 0 or 1; found 2",
        ),
        (FM, "validation", "Channel 'validation' is not supported by Factorization Machines"),
        (FM, "none", "Channel 'train' is required"),
        ({**FM, "linear_lr": 1e300, "factors_lr": 1e300, "epochs": 3}, "huge", "Training diverged"),
    ],
)
def test_client_errors(
    tmp_path: Path, hyperparameters: dict[str, object], channels: str, message: str
) -> None:
    features = np.arange(18, dtype=np.float64).reshape(6, 3)
    labels = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 1.0])
    records = _records(features * (1e30 if channels == "huge" else 1.0), labels)
    given = {
        "none": {},
        "recordio": {"train": records},
        "huge": {"train": records},
        "csv": {"train": Channel({"d.csv": csv_bytes(features, labels)}, "text/csv")},
        "validation": {"train": records, "validation": records},
    }[channels]
    root = instance(tmp_path, hyperparameters, **given)
    assert train(ALGORITHM, root) == 1
    assert failure(root).startswith("ClientError: ")
    assert message in failure(root), failure(root)


def test_served_model_answers_sigmoid_scores(tmp_path: Path) -> None:
    features = np.array([[1.0, 0.0], [0.0, 1.0]] * 20)
    labels = np.array([1.0, 0.0] * 20)
    root = _trained(
        tmp_path,
        {
            "predictor_type": "binary_classifier",
            "feature_dim": 2,
            "num_factors": 2,
            "epochs": 20,
            "mini_batch_size": 8,
            "linear_lr": 0.05,
        },
        train=_records(features, labels),
    )
    answer = runtime(ALGORITHM, root).invoke(
        b'{"instances": [{"features": [1, 0]}, {"features": [0, 1]}]}', "application/json", None
    )
    predictions = json.loads(answer.body)["predictions"]
    assert [p["predicted_label"] for p in predictions] == [1.0, 0.0]
    assert predictions[0]["score"] > 0.5 > predictions[1]["score"]
