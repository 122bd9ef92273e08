"""The built-in LightGBM's user errors: exit 1 and a clear ``ClientError`` in output/failure."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sagemaker.amazon.common import write_numpy_to_dense_tensor
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

FAST = {"num_threads": 1, "verbosity": -1, "num_boost_round": 3}
X = np.random.default_rng(0).normal(size=(40, 3))
BINARY = csv_bytes(X, (X[:, 0] > 0).astype(float))
THREE = csv_bytes(X, np.arange(40) % 3.0)
REAL = csv_bytes(X, X[:, 1] * 10 + 0.5)


def _fails(root: Path) -> str:
    assert train("lightgbm", root) == 1
    return failure(root)


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        (
            {"eta": "0.3"},
            "ClientError: Unknown hyperparameter(s): eta. Valid hyperparameters: ",
        ),
        (
            {"learning_rate": "1.5"},
            "ClientError: Hyperparameter learning_rate: value '1.5' is invalid: it must be "
            "a number in (0.0, 1.0)",
        ),
        (
            {"num_leaves": "1"},
            "ClientError: Hyperparameter num_leaves: value '1' is invalid: it must be an "
            "integer in [2, 131072]",
        ),
        (
            {"boosting": "xgb"},
            "ClientError: Hyperparameter boosting: value 'xgb' is invalid: it must be one of "
            "gbdt, rf, dart, goss",
        ),
        (
            {"metric": "accuracy"},
            "ClientError: Hyperparameter metric: value 'accuracy' is invalid: it must be auto "
            "or one or more (comma-separated) of rmse, l1, l2, huber, fair, binary_logloss,",
        ),
        (
            {"is_unbalance": "True", "scale_pos_weight": "3"},
            "ClientError: Hyperparameters is_unbalance and scale_pos_weight cannot be used "
            "together",
        ),
        (
            {"boosting": "goss"},
            "ClientError: LightGBM rejected the job's hyperparameters or data: Cannot use "
            "bagging in GOSS",
        ),
        (
            {"metric": "multi_logloss"},
            "ClientError: LightGBM rejected the job's hyperparameters or data: Multiclass "
            "objective and metrics don't match",
        ),
    ],
)
def test_bad_hyperparameters(tmp_path: Path, hyperparameters: dict[str, str], message: str) -> None:
    root = instance(tmp_path, {**FAST, **hyperparameters}, train=Channel({"d.csv": BINARY}))
    assert _fails(root).startswith(message)


def test_the_objective_must_fit_the_labels(tmp_path: Path) -> None:
    root = instance(tmp_path / "a", {**FAST, "objective": "binary"}, train=Channel({"d": THREE}))
    assert _fails(root) == (
        "ClientError: Objective binary needs labels 0 and 1; the training data has 3 classes: "
        "use objective multiclass"
    )
    root = instance(tmp_path / "b", {**FAST, "objective": "multiclass"}, train=Channel({"d": REAL}))
    assert _fails(root).startswith("ClientError: Objective multiclass needs class labels 0, 1")
    root = instance(tmp_path / "c", {**FAST, "metric": "auc"}, train=Channel({"d": REAL}))
    assert _fails(root).startswith(
        "ClientError: Hyperparameter metric auc is for classification, but the training "
        "labels are not class indices 0..k-1"
    )
    # A validation label that is not one of the training data's classes.
    root = instance(
        tmp_path / "d",
        FAST,
        train=Channel({"d": THREE}),
        validation=Channel({"d": csv_bytes(X[:2], np.array([0.0, 3.0]))}),
    )
    assert _fails(root) == (
        "ClientError: Label 3 is not a class of this multiclass problem: labels must be the "
        "integers 0 to 2"
    )


def test_the_task_follows_the_objective_or_the_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        ({}, BINARY, "LightGBM binary (binary, 2 classes)"),
        ({}, THREE, "LightGBM multiclass (multiclass, 3 classes)"),
        ({}, REAL, "LightGBM regression (regression)"),
        ({"metric": "rmse"}, BINARY, "LightGBM regression (regression)"),
        ({"objective": "huber"}, THREE, "LightGBM regression (huber)"),
        ({"objective": "multiclassova"}, THREE, "LightGBM multiclass (multiclassova, 3 classes)"),
        ({"use_dask": "True", "early_stopping_rounds": "0"}, BINARY, "LightGBM binary"),
    ]
    for i, (hyperparameters, data, summary) in enumerate(cases):
        root = instance(tmp_path / str(i), {**FAST, **hyperparameters}, train=Channel({"d": data}))
        assert train("lightgbm", root) == 0, failure(root)
        assert summary in capsys.readouterr().out


def test_channels(tmp_path: Path) -> None:
    root = instance(tmp_path / "a", FAST, validation=Channel({"d.csv": BINARY}))
    assert _fails(root) == (
        "ClientError: Channel 'train' (or 'training') is required but was not provided; "
        "channels given: validation"
    )
    root = instance(
        tmp_path / "b", FAST, train=Channel({"d": BINARY}), training=Channel({"d": BINARY})
    )
    assert _fails(root) == (
        "ClientError: Give the training data in channel 'train' or 'training', not both"
    )
    root = instance(tmp_path / "c", FAST, train=Channel({"d": BINARY}, "text/libsvm"))
    assert _fails(root) == (
        "ClientError: Content type text/libsvm is not supported for channel 'train': "
        "LightGBM supports text/csv"
    )
    root = instance(tmp_path / "d", FAST, train=Channel({}))
    assert _fails(root) == (
        "ClientError: No data in channel 'train': it needs CSV files, the label in column 1"
    )


def test_recordio_protobuf_is_refused(tmp_path: Path) -> None:
    """SageMaker's LightGBM trains on text/csv only, not on the SDK's RecordIO-protobuf."""
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, X.astype(np.float32), (X[:, 0] > 0).astype(np.float32))
    channel = Channel({"data.pbr": buffer.getvalue()}, "application/x-recordio-protobuf")
    root = instance(tmp_path, FAST, train=channel)
    assert _fails(root) == (
        "ClientError: Content type application/x-recordio-protobuf is not supported for "
        "channel 'train': LightGBM supports text/csv"
    )


def test_pipe_mode_is_refused(tmp_path: Path) -> None:
    """SageMaker's LightGBM reads File-mode channels (the JumpStart script lists a folder)."""
    root = instance(tmp_path, FAST, train=Channel({"d.csv": BINARY}, "text/csv", mode="Pipe"))
    assert _fails(root) == (
        "ClientError: Channel 'train' uses Pipe mode: LightGBM reads its channels as files; "
        "use TrainingInputMode File or FastFile"
    )
    fast = instance(tmp_path / "fast", FAST, train=Channel({"d.csv": BINARY}, mode="FastFile"))
    assert train("lightgbm", fast) == 0, failure(fast)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"categorical_index.json": b'{"cat_index_list": [0]}'},
            "ClientError: categorical_index.json: column index 0 in cat_index_list is out of "
            "range: the label is column 0 and the data has 4 columns, so indices are 1 to 3",
        ),
        (
            {"categorical_index.json": b'{"cat_index_list": [4]}'},
            "ClientError: categorical_index.json: column index 4 in cat_index_list is out of range",
        ),
        (
            {"categorical_index.json": b'{"cat_index_list": ["2"]}'},
            "ClientError: categorical_index.json: cat_index_list holds '2', not an integer",
        ),
        (
            {"categorical_index.json": b'{"cat_index_list": [2, 2]}'},
            "ClientError: categorical_index.json: cat_index_list repeats a column index",
        ),
        (
            {"categorical_index.json": b"[1, 2]"},
            'ClientError: categorical_index.json must be a JSON object {"cat_index_list": [...]}',
        ),
        (
            {"categorical_index.json": b"{nope"},
            "ClientError: categorical_index.json is not valid JSON: ",
        ),
        (
            {"a.json": b"{}", "b.json": b"{}"},
            "ClientError: Channel 'train' holds 2 JSON files (a.json, b.json): give at most one",
        ),
    ],
)
def test_bad_categorical_index(tmp_path: Path, files: dict[str, bytes], message: str) -> None:
    root = instance(tmp_path, FAST, train=Channel({"data.csv": BINARY, **files}))
    assert _fails(root).startswith(message)


def test_bad_csv(tmp_path: Path) -> None:
    root = instance(tmp_path / "a", FAST, train=Channel({"d.csv": b"1,2,3\n0,x,4\n"}))
    assert _fails(root) == (
        "ClientError: Unable to parse CSV file d.csv in channel 'train': column 2 holds "
        "values that are not numbers"
    )
    root = instance(tmp_path / "b", FAST, train=Channel({"d.csv": b"1,2\n,3\n"}))
    assert _fails(root) == (
        "ClientError: Row 2 of channel 'train' has no label (its first column is empty)"
    )
    root = instance(tmp_path / "c", FAST, train=Channel({"d.csv": b"1\n0\n"}))
    assert _fails(root) == (
        "ClientError: d.csv in channel 'train' has 1 column: LightGBM needs the label "
        "followed by at least one feature"
    )
    root = instance(
        tmp_path / "d",
        FAST,
        train=Channel({"d.csv": BINARY}),
        validation=Channel({"d.csv": b"1,2\n0,3\n"}),
    )
    assert _fails(root) == (
        "ClientError: The validation data has 2 columns and the training data 4: they must "
        "have the same columns"
    )
    root = instance(tmp_path / "e", FAST, train=Channel({"d.csv": b"1,2,3"}))
    assert _fails(root).startswith("ClientError: The training data has 1 row")


def test_runs_as_a_module(tmp_path: Path) -> None:
    """``python -m sagebrush.algorithms.lightgbm <root>``, as the platform starts it."""
    root = instance(tmp_path, FAST, train=Channel({"d.csv": BINARY}))
    done = subprocess.run(
        [sys.executable, "-m", "sagebrush.algorithms.lightgbm", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[1]\tval's binary_logloss: " in done.stdout
    assert json.loads((root / "model" / "model_info.json").read_text())["task"] == "binary"
