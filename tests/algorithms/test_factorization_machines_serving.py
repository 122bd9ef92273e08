"""Factorization Machines inference: SageMaker's formats, byte for byte.

The models are artifacts written here in the documented ``model_algo-1`` format with
weights chosen so the answers are exact; RecordIO answers are built with the SDK's
protobuf classes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import (
    _write_recordio,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from sagemaker.amazon.record_pb2 import Record

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime

ALGORITHM = "factorization-machines"
RECORDIO = "application/x-recordio-protobuf"
ROWS = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]], dtype=np.float32)
# y = 0.5 + x @ [1, -0.5, 0.25] + <v0,v1> x0 x1 + <v0,v2> x0 x2 + <v1,v2> x1 x2
# with V rows v0 = [1, 0], v1 = [0.5, 0.5], v2 = [-1, 1]: <v0,v1> = 0.5, <v0,v2> = -1
# -> row 1: 0.5 + 0 + 0.5*2 = 1.5; row 2: 0.5; row 3: 0.5 + 1.25 - 1 = 0.75
RAW = [1.5, 0.5, 0.75]


def _runtime(tmp_path: Path, predictor_type: str) -> object:
    folder = tmp_path / predictor_type
    folder.mkdir()
    with (folder / "model_algo-1").open("wb") as out:
        np.savez(
            out,
            w0=0.5,
            w=np.array([1.0, -0.5, 0.25]),
            V=np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]]),
            predictor_type=np.str_(predictor_type),
        )
    return load_runtime(ALGORITHM, folder, {})


@pytest.fixture
def regressor(tmp_path: Path) -> object:
    return _runtime(tmp_path, "regressor")


@pytest.fixture
def binary(tmp_path: Path) -> object:
    return _runtime(tmp_path, "binary_classifier")


JSON_ROWS = json.dumps({"instances": [{"features": r} for r in ROWS.tolist()]}).encode()
SCORES = [float(np.float32(1.0 / (1.0 + np.exp(-r)))) for r in RAW]  # all above 0.5


def test_regressor_json_and_jsonlines(regressor: object) -> None:
    answer = regressor.invoke(JSON_ROWS, "application/json", None)  # type: ignore[attr-defined]
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.body == b'{"predictions": [{"score": 1.5}, {"score": 0.5}, {"score": 0.75}]}'
    lines = regressor.invoke(JSON_ROWS, "application/json", "application/jsonlines")  # type: ignore[attr-defined]
    assert lines.body == b'{"score": 1.5}\n{"score": 0.5}\n{"score": 0.75}'


def test_binary_json(binary: object) -> None:
    answer = binary.invoke(JSON_ROWS, "application/json", "application/json")  # type: ignore[attr-defined]
    expected = (
        '{"predictions": ['
        + ", ".join(f'{{"score": {s!r}, "predicted_label": 1.0}}' for s in SCORES)
        + "]}"
    )
    assert answer.body == expected.encode()
    assert SCORES[0] == 0.8175745010375977  # sigmoid(1.5) in float32


def _record(**label: list[float]) -> bytes:
    record = Record()
    for key, values in label.items():
        record.label[key].float32_tensor.values.extend(values)
    buffer = io.BytesIO()
    _write_recordio(buffer, record.SerializeToString(deterministic=True))
    return buffer.getvalue()


@pytest.mark.parametrize("sparse", [False, True])
def test_recordio_protobuf_in_and_out(binary: object, sparse: bool) -> None:
    request = io.BytesIO()
    if sparse:
        write_spmatrix_to_sparse_tensor(request, sp.csr_matrix(ROWS))
    else:
        write_numpy_to_dense_tensor(request, ROWS)
    answer = binary.invoke(request.getvalue(), RECORDIO, RECORDIO)  # type: ignore[attr-defined]
    expected = b"".join(_record(score=[s], predicted_label=[1.0]) for s in SCORES)
    assert (answer.content_type, answer.body) == (RECORDIO, expected)


def test_sparse_json_request(regressor: object) -> None:
    body = json.dumps(
        {
            "instances": [
                {"data": {"features": {"keys": [0, 1], "shape": [3], "values": [1, 2]}}},
                {"data": {"features": {"keys": [], "shape": [3], "values": []}}},
                {"data": {"features": {"keys": [0, 2], "shape": [3], "values": [1, 1]}}},
            ]
        }
    ).encode()
    answer = regressor.invoke(body, "application/json", "*/*")  # type: ignore[attr-defined]
    assert answer.body == b'{"predictions": [{"score": 1.5}, {"score": 0.5}, {"score": 0.75}]}'


def test_empty_body_is_no_content(regressor: object) -> None:
    assert regressor.invoke(b"  ", "application/json", None).status == 204  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2,0\n", "text/csv", None, 415, "Content type text/csv is not supported"),
        (b"1,2,0\n", None, None, 415, "Content type (none) is not supported"),
        (JSON_ROWS, "application/jsonlines", None, 415, "use one of application/json"),
        (JSON_ROWS, "application/json", "text/csv", 406, "Accept type text/csv is not supported"),
        (b'{"instances": [1, 2', "application/json", None, 400, "Unable to parse"),
        (b"\x00garbage", RECORDIO, None, 400, "Unable to parse"),
        (
            b'{"instances": [{"features": [1, 2]}]}',
            "application/json",
            None,
            400,
            "Each record needs 3 features (feature_dim); the request has 2",
        ),
    ],
)
def test_bad_requests(
    regressor: object,
    *,
    body: bytes,
    content_type: str | None,
    accept: str | None,
    status: int,
    message: str,
) -> None:
    with pytest.raises(InferenceError) as error:
        regressor.invoke(body, content_type, accept)  # type: ignore[attr-defined]
    assert error.value.status == status
    assert message in error.value.message
