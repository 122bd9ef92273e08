"""Linear Learner training: quality against scikit-learn, SageMaker's metrics and errors.

Quality is measured on scikit-learn's bundled data sets, split once: the model served
from the artifact must be within 2% of scikit-learn's own estimator for the same
objective (accuracy no more than 0.02 lower, RMSE no more than 2% higher).
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
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tests.algorithms._support import Channel, csv_bytes, failure, instance, runtime, train

from sagebrush.algorithms.linear_learner import metric_definitions

ALGORITHM = "linear-learner"
RECORDIO = "application/x-recordio-protobuf"


def _split(loader: object, test_size: float) -> tuple[np.ndarray, ...]:
    features, labels = loader(return_X_y=True)  # type: ignore[operator]
    stratify = labels if len(np.unique(labels)) < 20 else None
    return tuple(
        train_test_split(features, labels, test_size=test_size, random_state=0, stratify=stratify)
    )


CANCER = _split(load_breast_cancer, 0.25)
WINE = _split(load_wine, 0.3)
DIABETES = _split(load_diabetes, 0.2)


def _csv(features: np.ndarray, labels: np.ndarray) -> Channel:
    return Channel({"part.csv": csv_bytes(features, labels)}, "text/csv")


def _trained(tmp_path: Path, hyperparameters: dict[str, object], **channels: Channel) -> Path:
    root = instance(tmp_path, hyperparameters, **channels)
    assert train(ALGORITHM, root) == 0, failure(root)
    return root


def _predict(root: Path, features: np.ndarray) -> list[dict[str, object]]:
    answer = runtime(ALGORITHM, root).invoke(csv_bytes(features), "text/csv", "application/json")
    predictions: list[dict[str, object]] = json.loads(answer.body)["predictions"]
    return predictions


def _metrics(log: str) -> dict[str, list[float]]:
    """What SageMaker would extract from the log with the published definitions."""
    found: dict[str, list[float]] = {}
    for definition in metric_definitions():
        values = [float(v) for v in re.findall(definition["Regex"], log)]
        if values:
            found[definition["Name"]] = values
    return found


def _standardised(train_x: np.ndarray, test_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scaler = StandardScaler().fit(train_x)
    return scaler.transform(train_x), scaler.transform(test_x)


def test_binary_classifier_on_breast_cancer_matches_logistic_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, test_x, train_y, test_y = CANCER
    root = _trained(
        tmp_path,
        {"predictor_type": "binary_classifier", "feature_dim": 30},
        train=_csv(train_x, train_y),
        test=_csv(test_x, test_y),
    )
    predictions = _predict(root, test_x)
    ours = np.mean(
        [p["predicted_label"] == label for p, label in zip(predictions, test_y, strict=True)]
    )
    scaled_train, scaled_test = _standardised(train_x, test_x)
    reference = LogisticRegression().fit(scaled_train, train_y).score(scaled_test, test_y)
    assert ours >= reference - 0.02, (ours, reference)
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["test:binary_classification_accuracy"] == [pytest.approx(ours)]
    assert all(0.0 <= p["score"] <= 1.0 for p in predictions)  # type: ignore[operator]


def test_multiclass_classifier_on_wine_matches_logistic_regression(tmp_path: Path) -> None:
    train_x, test_x, train_y, test_y = WINE
    # wd = 1/n is LogisticRegression's default C=1 on the same mean-loss scale.
    hyperparameters = {
        "predictor_type": "multiclass_classifier",
        "num_classes": 3,
        "wd": 1.0 / len(train_x),
        "l1": 0.0,
    }
    root = _trained(tmp_path, hyperparameters, train=_csv(train_x, train_y))
    predictions = _predict(root, test_x)
    ours = np.mean(
        [p["predicted_label"] == label for p, label in zip(predictions, test_y, strict=True)]
    )
    scaled_train, scaled_test = _standardised(train_x, test_x)
    reference = LogisticRegression().fit(scaled_train, train_y).score(scaled_test, test_y)
    assert ours >= reference - 0.02, (ours, reference)
    scores = np.array([p["score"] for p in predictions])
    assert scores.shape == (len(test_x), 3)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_regressor_on_diabetes_matches_linear_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, test_x, train_y, test_y = DIABETES
    root = _trained(
        tmp_path,
        {"predictor_type": "regressor"},
        train=_csv(train_x, train_y),
        test=_csv(test_x, test_y),
    )
    predictions = _predict(root, test_x)
    assert set(predictions[0]) == {"score"}
    ours = float(np.sqrt(np.mean((np.array([p["score"] for p in predictions]) - test_y) ** 2)))
    reference_model = LinearRegression().fit(train_x, train_y)
    reference = float(np.sqrt(np.mean((reference_model.predict(test_x) - test_y) ** 2)))
    assert ours <= reference * 1.02, (ours, reference)
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["test:mse"] == [pytest.approx(ours**2, rel=1e-5)]
    assert {"test:absolute_loss", "test:objective_loss", "train:objective_loss"} <= set(metrics)


def test_metrics_carry_sagemakers_names_per_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, test_x, train_y, test_y = CANCER
    _trained(
        tmp_path,
        {"predictor_type": "binary_classifier", "loss": "hinge_loss", "epochs": 4, "wd": 0.001},
        train=_csv(train_x[:300], train_y[:300]),
        validation=_csv(train_x[300:], train_y[300:]),
        test=_csv(test_x, test_y),
    )
    log = capsys.readouterr().out
    metrics = _metrics(log)
    for channel in ("validation", "test"):
        for name in ("binary_classification_accuracy", "binary_f_beta", "precision", "recall"):
            assert f"{channel}:{name}" in metrics
        assert f"{channel}:roc_auc_score" in metrics
    assert len(metrics["train:objective_loss"]) == len(metrics["validation:objective_loss"]) >= 1
    assert "train:objective_loss:final" in metrics and "test:objective_loss" in metrics
    assert "#quality_metric: host=algo-1, epoch=0, train hinge_loss_objective <loss>=" in log
    assert "#quality_metric: host=algo-1, test binary_f_1.000 <score>=" in log


def test_multiclass_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train_x, test_x, train_y, test_y = WINE
    _trained(
        tmp_path,
        {
            "predictor_type": "multiclass_classifier",
            "num_classes": 3,
            "num_models": 1,
            "accuracy_top_k": 2,
            "balance_multiclass_weights": "true",
        },
        train=_csv(train_x, train_y),
        test=_csv(test_x, test_y),
    )
    log = capsys.readouterr().out
    metrics = _metrics(log)
    for name in (
        "multiclass_accuracy",
        "multiclass_top_k_accuracy",
        "dcg",
        "macro_precision",
        "macro_recall",
        "macro_f_beta",
        "objective_loss",
    ):
        assert f"test:{name}" in metrics, name
    assert metrics["test:multiclass_top_k_accuracy"][0] >= metrics["test:multiclass_accuracy"][0]
    assert "test multiclass_top_k_accuracy_2 <score>=" in log
    assert "test multiclass_cross_entropy_objective <loss>=" in log


def test_recordio_protobuf_from_the_sdk_in_pipe_mode_trains_the_csv_model(tmp_path: Path) -> None:
    train_x, _, train_y, _ = CANCER
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, train_x.astype(np.float32), train_y.astype(np.float32))
    hyperparameters = {"predictor_type": "binary_classifier", "wd": 0.01, "l1": 0}
    piped = _trained(
        tmp_path / "pipe",
        hyperparameters,
        train=Channel({"r": buffer.getvalue()}, RECORDIO, "Pipe"),
    )
    from_csv = _trained(tmp_path / "csv", hyperparameters, train=_csv(train_x, train_y))
    with (
        np.load(piped / "model" / "model_algo-1") as a,
        np.load(from_csv / "model" / "model_algo-1") as b,
    ):
        np.testing.assert_allclose(a["weights"], b["weights"], rtol=1e-6)
        assert str(a["predictor_type"]) == "binary_classifier"


def test_sparse_recordio_protobuf_trains(tmp_path: Path) -> None:
    train_x, test_x, train_y, test_y = DIABETES
    buffer = io.BytesIO()
    sparse = sp.csr_matrix(np.where(np.abs(train_x) > 0.02, train_x, 0.0).astype(np.float32))
    write_spmatrix_to_sparse_tensor(buffer, sparse, train_y.astype(np.float32))
    root = _trained(
        tmp_path,
        {"predictor_type": "regressor", "feature_dim": 10, "num_models": 1},
        train=Channel({"r": buffer.getvalue()}, RECORDIO),
    )
    scores = np.array([p["score"] for p in _predict(root, test_x)])
    assert np.sqrt(np.mean((scores - test_y) ** 2)) < 70.0  # a mean predictor scores ~73


@pytest.mark.parametrize(
    ("criterion", "target", "bound"),
    [
        ("precision_at_target_recall", "target_recall", "recall"),
        ("recall_at_target_precision", "target_precision", "precision"),
    ],
)
def test_threshold_meets_the_criterion_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], criterion: str, target: str, bound: str
) -> None:
    train_x, _, train_y, _ = CANCER
    _trained(
        tmp_path,
        {
            "predictor_type": "binary_classifier",
            "num_models": 1,
            target: 0.999,
            "binary_classifier_model_selection_criteria": criterion,
        },
        train=_csv(train_x, train_y),
    )
    # Calibrated on the training data (no validation channel): the target holds there.
    assert _metrics(capsys.readouterr().out)[f"train:{bound}"][0] >= 0.999


@pytest.mark.parametrize(
    ("loss", "extra"),
    [
        ("absolute_loss", {}),
        ("quantile_loss", {"quantile": 0.9}),
        ("huber_loss", {}),
        ("eps_insensitive_absolute_loss", {"wd": 0.001}),
    ],
)
def test_regression_losses(tmp_path: Path, loss: str, extra: dict[str, object]) -> None:
    train_x, _, train_y, _ = DIABETES
    root = _trained(
        tmp_path,
        {"predictor_type": "regressor", "loss": loss, "epochs": 5, **extra},
        train=_csv(train_x, train_y),
    )
    scores = np.array([p["score"] for p in _predict(root, train_x)])
    rmse = np.sqrt(np.mean((scores - train_y) ** 2))
    if loss == "quantile_loss":
        assert 0.85 <= np.mean(train_y <= scores) <= 0.95  # the 0.9 quantile
    else:
        assert rmse < 62.0  # least squares reaches ~53 on the training data


def test_early_stopping_ends_sgd_before_the_last_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, _, train_y, _ = DIABETES
    _trained(
        tmp_path,
        {
            "predictor_type": "regressor",
            "loss": "huber_loss",
            "epochs": 60,
            "wd": 0.001,
            "early_stopping_patience": 1,
            "early_stopping_tolerance": 0.05,
        },
        train=_csv(train_x[:300], train_y[:300]),
        validation=_csv(train_x[300:], train_y[300:]),
    )
    epochs = _metrics(capsys.readouterr().out)["validation:objective_loss"]
    assert 2 <= len(epochs) < 60


def test_automatic_model_tuning_trains_one_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_x, _, train_y, _ = DIABETES
    _trained(
        tmp_path,
        {"predictor_type": "regressor", "_tuning_objective_metric": "validation:mse"},
        train=_csv(train_x, train_y),
    )
    log = capsys.readouterr().out
    assert 'Best model found for hyperparameters: {"wd": 0.001, "l1": 0.0}' in log


def test_artifact_is_an_npz_without_pickle(tmp_path: Path) -> None:
    train_x, _, train_y, _ = WINE
    root = _trained(
        tmp_path,
        {"predictor_type": "multiclass_classifier", "num_classes": 4, "num_models": 1},
        train=_csv(train_x, train_y),
    )
    with np.load(root / "model" / "model_algo-1", allow_pickle=False) as model:
        assert model["weights"].shape == (13, 4) and model["bias"].shape == (4,)
        raw = train_x @ model["weights"] + model["bias"]
    assert np.mean(raw.argmax(axis=1) == train_y) > 0.95
    assert raw[:, 3].max() < raw.max(axis=1).min()  # class 3 never seen: never predicted


BINARY = {"predictor_type": "binary_classifier"}


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "message"),
    [
        ({}, "csv", "Missing required hyperparameter: predictor_type"),
        (
            {"predictor_type": "multiclass_classifier"},
            "csv",
            "num_classes is required when predictor_type is multiclass_classifier",
        ),
        (
            {"predictor_type": "regressor", "loss": "hinge_loss"},
            "csv",
            "loss: 'hinge_loss' is not a loss for predictor_type regressor",
        ),
        ({**BINARY, "target_recall": "1.5"}, "csv", "Hyperparameter target_recall: value '1.5'"),
        (
            {**BINARY, "positive_example_weight_mult": "-1"},
            "csv",
            "positive_example_weight_mult: value '-1' is invalid",
        ),
        ({**BINARY, "learning_rat": "0.1"}, "csv", "Unknown hyperparameter\\(s\\): learning_rat"),
        (BINARY, "none", "Channel 'train' is required"),
        (BINARY, "libsvm", "Content type text/libsvm is not supported for channel 'train'"),
        (BINARY, "labels", "labels of a binary_classifier must be 0 or 1; found 2"),
        ({**BINARY, "feature_dim": 5}, "csv", "has 4 features per record; expected 5"),
        (BINARY, "extra", "Channel 'eval' is not supported by Linear Learner"),
    ],
)
def test_client_errors(
    tmp_path: Path, hyperparameters: dict[str, object], channels: str, message: str
) -> None:
    features = np.arange(24, dtype=np.float64).reshape(6, 4)
    labels = np.array([0, 1, 0, 1, 1, 2 if channels == "labels" else 0], dtype=np.float64)
    data = {"d.csv": csv_bytes(features, labels)}
    given = {
        "none": {},
        "csv": {"train": Channel(data, "text/csv")},
        "labels": {"train": Channel(data, "text/csv")},
        "libsvm": {"train": Channel(data, "text/libsvm")},
        "extra": {"train": Channel(data, "text/csv"), "eval": Channel(data, "text/csv")},
    }[channels]
    root = instance(tmp_path, hyperparameters, **given)
    assert train(ALGORITHM, root) == 1
    assert failure(root).startswith("ClientError: ")
    assert re.search(message, failure(root)), failure(root)
