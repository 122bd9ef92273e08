"""Linear Learner inference: SageMaker's request and response formats, byte for byte.

The models are artifacts written here in the documented ``model_algo-1`` format, so the
expected answers follow from their weights by hand; RecordIO answers are built with the
SageMaker SDK's own protobuf classes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from sagemaker.amazon.common import _write_recordio, write_numpy_to_dense_tensor
from sagemaker.amazon.record_pb2 import Record

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime

ALGORITHM = "linear-learner"
RECORDIO = "application/x-recordio-protobuf"
ROWS = np.array([[1.0, 2.0], [0.0, 0.0], [-2.0, 1.0]], dtype=np.float32)
CSV_ROWS = b"1,2\n0,0\n-2,1\n"


def _artifact(
    tmp_path: Path,
    predictor_type: str,
    loss: str,
    weights: list,
    bias: object,
    *,
    threshold: float = 0.5,
) -> Path:
    folder = tmp_path / predictor_type
    folder.mkdir()
    with (folder / "model_algo-1").open("wb") as out:
        np.savez(
            out,
            weights=np.array(weights),
            bias=np.array(bias),
            threshold=threshold,
            predictor_type=np.str_(predictor_type),
            loss=np.str_(loss),
        )
    return folder


@pytest.fixture
def binary(tmp_path: Path) -> object:
    # raw = x @ [0.5, -1] + 0.25 -> -1.25, 0.25, -1.75
    return load_runtime(
        ALGORITHM,
        _artifact(tmp_path, "binary_classifier", "logistic", [0.5, -1.0], 0.25, threshold=0.3),
        {},
    )


@pytest.fixture
def regressor(tmp_path: Path) -> object:
    # score = x @ [0.5, 0.25] + 1 -> 2.0, 1.0, 0.25: exact in float32
    return load_runtime(
        ALGORITHM, _artifact(tmp_path, "regressor", "squared_loss", [0.5, 0.25], 1.0), {}
    )


@pytest.fixture
def multiclass(tmp_path: Path) -> object:
    weights = [[0.0, 1.0, -1.0], [0.0, 0.0, 1.0]]
    return load_runtime(
        ALGORITHM,
        _artifact(tmp_path, "multiclass_classifier", "softmax_loss", weights, [0.0, 0.0, 0.0]),
        {},
    )


def _sigmoid32(raw: float) -> float:
    return float(np.float32(1.0 / (1.0 + np.exp(-raw))))


BINARY_SCORES = [_sigmoid32(-1.25), _sigmoid32(0.25), _sigmoid32(-1.75)]  # 0.22, 0.56, 0.15
BINARY_LABELS = [0.0, 1.0, 0.0]  # threshold 0.3


def test_binary_json_response(binary: object) -> None:
    answer = binary.invoke(CSV_ROWS, "text/csv", "application/json")  # type: ignore[attr-defined]
    expected = (
        '{"predictions": ['
        + ", ".join(
            f'{{"score": {s!r}, "predicted_label": {label!r}}}'
            for s, label in zip(BINARY_SCORES, BINARY_LABELS, strict=True)
        )
        + "]}"
    )
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.body == expected.encode()
    assert BINARY_SCORES[0] == 0.22270013391971588


def test_regressor_json_and_jsonlines(regressor: object) -> None:
    answer = regressor.invoke(CSV_ROWS, "text/csv", None)  # type: ignore[attr-defined]
    assert answer.body == b'{"predictions": [{"score": 2.0}, {"score": 1.0}, {"score": 0.25}]}'
    lines = regressor.invoke(CSV_ROWS, "text/csv", "application/jsonlines")  # type: ignore[attr-defined]
    assert lines.content_type == "application/jsonlines"
    assert lines.body == b'{"score": 2.0}\n{"score": 1.0}\n{"score": 0.25}'


def test_multiclass_json_scores_are_probabilities(multiclass: object) -> None:
    answer = multiclass.invoke(b"1,2\n", "text/csv", "*/*")  # type: ignore[attr-defined]
    raw = np.array([0.0, 1.0, 1.0])  # x @ W for x = [1, 2]
    probabilities = np.exp(raw) / np.exp(raw).sum()
    scores = ", ".join(repr(float(np.float32(p))) for p in probabilities)
    # Classes 1 and 2 tie: the first of them is the label.
    assert (
        answer.body
        == f'{{"predictions": [{{"score": [{scores}], "predicted_label": 1.0}}]}}'.encode()
    )


def _record(**label: list[float]) -> bytes:
    record = Record()
    for key, values in label.items():
        record.label[key].float32_tensor.values.extend(values)
    buffer = io.BytesIO()
    _write_recordio(buffer, record.SerializeToString(deterministic=True))
    return buffer.getvalue()


def test_recordio_protobuf_in_and_out(binary: object) -> None:
    request = io.BytesIO()
    write_numpy_to_dense_tensor(request, ROWS)
    answer = binary.invoke(request.getvalue(), RECORDIO, RECORDIO)  # type: ignore[attr-defined]
    expected = b"".join(
        _record(score=[s], predicted_label=[label])
        for s, label in zip(BINARY_SCORES, BINARY_LABELS, strict=True)
    )
    assert (answer.content_type, answer.body) == (RECORDIO, expected)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"instances": [{"features": r} for r in ROWS.tolist()]}), "application/json"),
        (
            json.dumps(
                {"instances": [{"data": {"features": {"values": r}}} for r in ROWS.tolist()]}
            ),
            "application/json",
        ),
        ("\n".join(json.dumps({"features": r}) for r in ROWS.tolist()), "application/jsonlines"),
        (
            json.dumps(
                {
                    "instances": [
                        {"data": {"features": {"keys": [0, 1], "shape": [2], "values": [1, 2]}}},
                        {"data": {"features": {"keys": [], "shape": [2], "values": []}}},
                        {"data": {"features": {"keys": [0, 1], "shape": [2], "values": [-2, 1]}}},
                    ]
                }
            ),
            "application/json",
        ),
        (CSV_ROWS.decode(), "text/csv;label_size=0"),
    ],
)
def test_request_formats_agree(regressor: object, body: str, content_type: str) -> None:
    answer = regressor.invoke(body.encode(), content_type, "application/json")  # type: ignore[attr-defined]
    assert answer.body == b'{"predictions": [{"score": 2.0}, {"score": 1.0}, {"score": 0.25}]}'


def test_empty_body_is_no_content(binary: object) -> None:
    assert binary.invoke(b"", "text/csv", "application/json").status == 204  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (CSV_ROWS, "text/libsvm", None, 415, "Content type text/libsvm is not supported"),
        (CSV_ROWS, "image/png", None, 415, "use one of text/csv, application/json"),
        (CSV_ROWS, "text/csv", "text/csv", 406, "Accept type text/csv is not supported"),
        (b"1,2\nx,y\n", "text/csv", None, 400, "Unable to parse the text/csv request"),
        (b"{not json", "application/json", None, 400, "Unable to parse the application/json"),
        (b"\x00\x01garbage", RECORDIO, None, 400, "Unable to parse"),
        (
            b"1,2,3\n",
            "text/csv",
            None,
            400,
            "Each record needs 2 features (feature_dim); the request has 3",
        ),
    ],
)
def test_bad_requests(
    binary: object, *, body: bytes, content_type: str, accept: str | None, status: int, message: str
) -> None:
    with pytest.raises(InferenceError) as error:
        binary.invoke(body, content_type, accept)  # type: ignore[attr-defined]
    assert error.value.status == status
    assert message in error.value.message
