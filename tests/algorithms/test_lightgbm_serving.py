"""The built-in LightGBM's inference: the JumpStart inference script's request/response formats."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from tests.algorithms._support import Channel, csv_bytes, failure, instance, runtime, train

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import ModelRuntime

FAST = {"num_threads": 1, "verbosity": -1, "num_boost_round": 8}


def _model(tmp_path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    root = instance(tmp_path, FAST, train=Channel({"data.csv": csv_bytes(X, y)}))
    assert train("lightgbm", root) == 0, failure(root)
    return root


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = load_breast_cancer(return_X_y=True)
    return _model(tmp_path_factory.mktemp("binary"), X, y)


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = load_wine(return_X_y=True)
    return _model(tmp_path_factory.mktemp("multiclass"), X, y)


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = load_diabetes(return_X_y=True)
    return _model(tmp_path_factory.mktemp("regression"), X, y)


def _rows(X: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X).encode()


def _scores(root: Path, X: np.ndarray) -> list[float]:
    return [float(v) for v in lgb.Booster(model_file=str(root / "model" / "model.txt")).predict(X)]


def _rows_of(scores: list[list[float]]) -> str:
    return "[" + ", ".join("[" + ", ".join(repr(v) for v in row) + "]" for row in scores) + "]"


def test_binary_probabilities(binary: Path) -> None:
    X = load_breast_cancer().data[:3]
    p = _scores(binary, X)
    body = runtime("lightgbm", binary).invoke(_rows(X), "text/csv", None)
    assert body.status == 200 and body.content_type == "application/json"
    assert (
        body.body
        == (
            '{"probabilities-1d": '
            + _rows_of([[v] for v in p])
            + ', "probabilities": '
            + _rows_of([[1.0 - v, v] for v in p])
            + "}"
        ).encode()
    )


def test_binary_verbose_adds_predicted_label(binary: Path) -> None:
    data = load_breast_cancer()
    X = data.data[[0, 1, int(np.flatnonzero(data.target == 1)[0])]]
    p = _scores(binary, X)
    labels = ", ".join("1" if v > 1.0 - v else "0" for v in p)
    body = runtime("lightgbm", binary).invoke(_rows(X), "text/csv", "application/json;verbose")
    assert (
        body.body
        == (
            '{"probabilities-1d": '
            + _rows_of([[v] for v in p])
            + ', "probabilities": '
            + _rows_of([[1.0 - v, v] for v in p])
            + f', "predicted_label": [{labels}]}}'
        ).encode()
    )
    assert "1" in labels and "0" in labels


def test_multiclass_probabilities_and_labels(multiclass: Path) -> None:
    X = load_wine().data[[0, 70, 170]]
    probabilities = [
        [float(v) for v in row]
        for row in lgb.Booster(model_file=str(multiclass / "model" / "model.txt")).predict(X)
    ]
    body = runtime("lightgbm", multiclass).invoke(_rows(X), "text/csv", "application/json;verbose")
    assert (
        body.body
        == (
            '{"probabilities-1d": '
            + _rows_of([row[1:] for row in probabilities])
            + ', "probabilities": '
            + _rows_of(probabilities)
            + ', "predicted_label": [0, 1, 2]}'
        ).encode()
    )


def test_regression_prediction(regression: Path) -> None:
    X = load_diabetes().data[:3]
    expected = (
        '{"prediction": [' + ", ".join(repr(v) for v in _scores(regression, X)) + "]}"
    ).encode()
    serving = runtime("lightgbm", regression)
    assert serving.invoke(_rows(X), "text/csv", "application/json").body == expected
    # ;verbose adds nothing to a regression's response, as in the JumpStart script.
    assert serving.invoke(_rows(X), "text/csv", "application/json;verbose").body == expected


def test_default_accept_and_environment(binary: Path) -> None:
    X = load_breast_cancer().data[:1]
    plain = runtime("lightgbm", binary).invoke(_rows(X), "text/csv", None).body
    assert runtime("lightgbm", binary).invoke(_rows(X), "text/csv", "*/*").body == plain
    verbose = runtime(
        "lightgbm", binary, {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json;verbose"}
    )
    assert b'"predicted_label": [' in verbose.invoke(_rows(X), "text/csv", "*/*").body
    assert b"predicted_label" not in verbose.invoke(_rows(X), "text/csv", "application/json").body
    # Content-Type parameters and Accept lists are read as HTTP has them.
    listed = runtime("lightgbm", binary).invoke(
        _rows(X), "text/csv; charset=utf-8", "text/html, application/json"
    )
    assert listed.body == plain


def test_missing_values_are_nan(binary: Path) -> None:
    X = load_breast_cancer().data[:2].copy()
    text = _rows(X).decode().split("\n")
    cells = text[0].split(",")
    cells[3] = ""
    body = ("\n".join([",".join(cells), text[1]]) + "\n").encode()
    X[0, 3] = np.nan
    p = _scores(binary, X)
    result = runtime("lightgbm", binary).invoke(body, "text/csv", None)
    assert result.body.startswith(f'{{"probabilities-1d": [[{p[0]!r}], [{p[1]!r}]]'.encode())


def test_errors(binary: Path) -> None:
    serving: ModelRuntime = runtime("lightgbm", binary)
    row = _rows(load_breast_cancer().data[:1])
    for content_type in ("application/json", "text/libsvm", "application/x-recordio-protobuf"):
        with pytest.raises(InferenceError) as error:
            serving.invoke(row, content_type, None)
        assert error.value.status == 415 and "text/csv" in error.value.message
    for accept in ("text/csv", "application/jsonlines", "application/x-recordio-protobuf"):
        with pytest.raises(InferenceError) as error:
            serving.invoke(row, "text/csv", accept)
        assert error.value.status == 406 and "application/json" in error.value.message
    assert serving.invoke(b"", "text/csv", None).status == 204
    assert serving.invoke(b"\n \n", "text/csv", None).status == 204
    with pytest.raises(InferenceError) as error:
        serving.invoke(b"1.0,abc,3.0\n", "text/csv", None)
    assert error.value.status == 400 and "not numbers" in error.value.message
    with pytest.raises(InferenceError) as error:
        serving.invoke(b"1.0,2.0,3.0\n", "text/csv", None)
    assert error.value.status == 400
    assert error.value.message == (
        "The request has 3 columns; the model takes 30 features (text/csv without the label)"
    )


def test_a_bare_model_txt_serves(binary: Path, tmp_path: Path) -> None:
    """A model.txt without model_info.json (trained elsewhere) is served by its objective."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.txt").write_bytes((binary / "model" / "model.txt").read_bytes())
    X = load_breast_cancer().data[:2]
    body = runtime("lightgbm", tmp_path).invoke(_rows(X), "text/csv", None).body
    assert body == runtime("lightgbm", binary).invoke(_rows(X), "text/csv", None).body
