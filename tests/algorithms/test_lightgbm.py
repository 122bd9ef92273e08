"""The built-in LightGBM: training quality against lightgbm itself, the log, the artifact."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.model_selection import train_test_split
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

from sagebrush.algorithms.lightgbm import metric_definitions

# SageMaker's documented defaults ("LightGBM hyperparameters"), written out here so the
# direct lightgbm.train call below is built independently of the algorithm's code.
DOC_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.1,
    "num_leaves": 64,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "max_depth": 6,
    "min_data_in_leaf": 3,
    "max_delta_step": 0.0,
    "lambda_l1": 0.0,
    "lambda_l2": 0.0,
    "boosting": "gbdt",
    "min_gain_to_split": 0.0,
    "tree_learner": "serial",
    "feature_fraction_bynode": 1.0,
    "max_bin": 255,
    "num_threads": 1,  # SageMaker's default is 0 (every core); one keeps the tests quick
    "verbosity": -1,
}
FAST = {"num_threads": 1, "verbosity": -1}


def _splits(X: np.ndarray, y: np.ndarray, stratify: bool) -> tuple[np.ndarray, ...]:
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, random_state=7, stratify=y if stratify else None
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, random_state=7, stratify=y_rest if stratify else None
    )
    return X_train, y_train, X_val, y_val, X_test, y_test


def _direct(
    params: dict[str, Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
) -> lgb.Booster:
    train_set = lgb.Dataset(X_train, y_train)
    return lgb.train(
        {**DOC_DEFAULTS, **params},
        train_set,
        num_boost_round=100,
        valid_sets=[lgb.Dataset(X_val, y_val, reference=train_set)],
        callbacks=[lgb.early_stopping(10, verbose=False)],
    )


def _train_job(
    tmp_path: Path,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    **hp: object,
) -> Path:
    root = instance(
        tmp_path,
        {**FAST, **hp},
        train=Channel({"data.csv": csv_bytes(X_train, y_train)}, "text/csv"),
        validation=Channel({"data.csv": csv_bytes(X_val, y_val)}, "text/csv"),
    )
    assert train("lightgbm", root) == 0, failure(root)
    return root


def _ours(root: Path) -> lgb.Booster:
    return lgb.Booster(model_file=str(root / "model" / "model.txt"))


def test_binary_breast_cancer_matches_lightgbm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X_train, y_train, X_val, y_val, X_test, y_test = _splits(X, y, stratify=True)
    root = _train_job(tmp_path, X_train, y_train, X_val, y_val)
    log = capsys.readouterr().out
    ours = _ours(root).predict(X_test)
    direct = _direct(
        {"objective": "binary", "metric": "binary_logloss", "scale_pos_weight": 1.0},
        X_train,
        y_train,
        X_val,
        y_val,
    )
    expected = direct.predict(X_test, num_iteration=direct.best_iteration)
    accuracy = np.mean((ours > 0.5) == y_test)
    assert accuracy >= 0.93
    assert abs(accuracy - np.mean((expected > 0.5) == y_test)) <= 0.02
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    info = json.loads((root / "model" / "model_info.json").read_text())
    assert info["task"] == "binary" and info["objective"] == "binary"
    assert info["num_class"] == 2 and info["num_features"] == 30
    assert info["best_iteration"] == direct.best_iteration
    # The log: validation first; the documented regex reads the best validation score last.
    assert re.search(r"^\[1\]\tval's binary_logloss: [0-9.]+\ttrain's binary_logloss: ", log, re.M)
    regex = next(d["Regex"] for d in metric_definitions() if d["Name"] == "binary_logloss")
    values = [float(m.group(1)) for line in log.splitlines() if (m := re.search(regex, line))]
    assert values[-1] == pytest.approx(direct.best_score["valid_0"]["binary_logloss"], rel=1e-9)


def test_multiclass_wine_matches_lightgbm(tmp_path: Path) -> None:
    X, y = load_wine(return_X_y=True)
    X_train, y_train, X_val, y_val, X_test, y_test = _splits(X, y, stratify=True)
    root = _train_job(tmp_path, X_train, y_train, X_val, y_val, metric="multi_logloss,multi_error")
    ours = _ours(root).predict(X_test)
    direct = _direct(
        {"objective": "multiclass", "num_class": 3, "metric": ["multi_logloss", "multi_error"]},
        X_train,
        y_train,
        X_val,
        y_val,
    )
    expected = direct.predict(X_test, num_iteration=direct.best_iteration)
    accuracy = np.mean(ours.argmax(axis=1) == y_test)
    assert accuracy >= 0.9
    assert abs(accuracy - np.mean(expected.argmax(axis=1) == y_test)) <= 0.02
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    info = json.loads((root / "model" / "model_info.json").read_text())
    assert (info["task"], info["num_class"]) == ("multiclass", 3)


def test_regression_diabetes_matches_lightgbm(tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)
    X_train, y_train, X_val, y_val, X_test, y_test = _splits(X, y, stratify=False)
    root = _train_job(tmp_path, X_train, y_train, X_val, y_val)
    ours = _ours(root).predict(X_test)
    direct = _direct(
        {"objective": "regression", "metric": "rmse", "tweedie_variance_power": 1.5},
        X_train,
        y_train,
        X_val,
        y_val,
    )
    expected = direct.predict(X_test, num_iteration=direct.best_iteration)
    rmse = float(np.sqrt(np.mean((ours - y_test) ** 2)))
    direct_rmse = float(np.sqrt(np.mean((expected - y_test) ** 2)))
    assert rmse <= 1.02 * direct_rmse
    assert rmse < 70  # the targets' own spread is ~77
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert json.loads((root / "model" / "model_info.json").read_text())["task"] == "regression"


def test_jumpstart_layout_with_categorical_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    colour = rng.integers(0, 6, 400).astype(float)  # only colours 1 and 4 mean class 1
    noise = rng.normal(size=(400, 2))
    X = np.column_stack([noise[:, 0], colour, noise[:, 1]])
    y = np.isin(colour, (1, 4)).astype(float)
    files = {
        "train/data.csv": csv_bytes(X[:300], y[:300]),
        "validation/data.csv": csv_bytes(X[300:], y[300:]),
        "categorical_index.json": json.dumps({"cat_index_list": [2]}).encode(),
    }
    root = instance(tmp_path, FAST, training=Channel(files, "text/csv"))
    assert train("lightgbm", root) == 0, failure(root)
    assert "300 training rows, 100 validation rows, 3 features" in capsys.readouterr().out
    text = (root / "model" / "model.txt").read_text()
    assert "[categorical_feature: 1]" in text
    assert json.loads((root / "model" / "model_info.json").read_text())["categorical_features"] == [
        1
    ]
    assert np.mean((_ours(root).predict(X[300:]) > 0.5) == y[300:]) == 1.0


def test_without_validation_holds_out_20_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    root = instance(
        tmp_path,
        {**FAST, "num_boost_round": 5},
        train=Channel({"a.csv": csv_bytes(X[:300], y[:300]), "b.csv": csv_bytes(X[300:], y[300:])}),
    )
    assert train("lightgbm", root) == 0, failure(root)
    assert "455 training rows, 114 validation rows, 30 features" in capsys.readouterr().out


def test_metric_definitions_are_the_documented_ones() -> None:
    definitions = metric_definitions()
    assert {"Name": "multi_logloss", "Regex": "multi_logloss: ([0-9\\.]+)"} in definitions
    assert [d["Name"] for d in definitions] == [
        "rmse",
        "l1",
        "l2",
        "huber",
        "fair",
        "binary_logloss",
        "binary_error",
        "auc",
        "average_precision",
        "multi_logloss",
        "multi_error",
        "auc_mu",
        "cross_entropy",
    ]


def test_small_values_are_written_without_exponents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = (X[:, 0] > 19).astype(float)  # separable: the error reaches 0, logloss tiny
    root = instance(
        tmp_path,
        {**FAST, "metric": "binary_logloss", "min_data_in_leaf": 1, "num_boost_round": 60},
        train=Channel({"data.csv": csv_bytes(X, y)}),
        validation=Channel({"data.csv": csv_bytes(X, y)}),
    )
    assert train("lightgbm", root) == 0, failure(root)
    lines = [line for line in capsys.readouterr().out.splitlines() if "val's" in line]
    assert lines and not any("e-" in line for line in lines)
