"""The shared inference formats and the model server's HTTP contract."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor

from sagebrush.algorithms.data import parse_content_type
from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import NO_CONTENT, ModelRuntime, Prediction
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.server import ModelServer

JSON, CSV = "application/json", "text/csv"


def _ct(value: str) -> Any:
    return parse_content_type(value, value)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("text/csv", CSV),
        ("image/png, text/csv;q=0.5", CSV),
        ("application/json; verbose=true", "application/json;verbose=true"),
        ("application/json;verbose", "application/json;verbose"),
        ("application/*", JSON),
        ("text/*", CSV),
        ("*/*;verbose=true", "application/json;verbose=true"),
    ],
)
def test_negotiate_picks_the_first_supported_type(accept: str | None, expected: str) -> None:
    assert str(negotiate(accept, [JSON, CSV], JSON)) == expected


def test_negotiate_default_keeps_its_parameters_and_must_be_supported() -> None:
    assert str(negotiate("*/*", [JSON], "application/json;verbose")) == "application/json;verbose"
    with pytest.raises(InferenceError) as caught:
        negotiate(None, [JSON], "text/plain")
    assert caught.value.status == 406


def test_negotiate_refuses_what_it_cannot_write() -> None:
    with pytest.raises(InferenceError) as caught:
        negotiate("image/png", [JSON, CSV], JSON)
    assert caught.value.status == 406
    assert "image/png" in caught.value.message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1,2,3\n4,5,6\n", CSV),
        (b"1,2,3\r\n4,5,6", CSV),
        (b'{"instances": [{"features": [1, 2, 3]}, {"features": [4, 5, 6]}]}', JSON),
        (b'{"instances": [{"data": {"features": {"values": [1, 2, 3]}}}, [4, 5, 6]]}', JSON),
        (b"[[1, 2, 3], [4, 5, 6]]", JSON),
        (
            b'{"features": [1, 2, 3]}\n{"data": {"features": {"values": [4, 5, 6]}}}\n',
            "application/jsonlines",
        ),
    ],
)
def test_requests_decode_to_the_same_rows(body: bytes, content_type: str) -> None:
    rows = decode_features(body, _ct(content_type))
    np.testing.assert_array_equal(rows, np.float32([[1, 2, 3], [4, 5, 6]]))


def test_sparse_json_and_recordio_requests() -> None:
    sparse = (
        b'{"instances": [{"data": {"features": {"keys": [0, 2], "shape": [4], "values": [1, 3]}}}]}'
    )
    np.testing.assert_array_equal(decode_features(sparse, _ct(JSON)).toarray(), [[1, 0, 3, 0]])
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, np.float32([[1, 2], [3, 4]]))
    rows = decode_features(buffer.getvalue(), _ct("application/x-recordio-protobuf"))
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1,2\n3", CSV),
        (b"a,b", CSV),
        (b"{not json", JSON),
        (b'{"instances": [{"features": [1, 2]}, {"features": [3]}]}', JSON),
        (b'{"instances": [{"other": 1}]}', JSON),
    ],
)
def test_unreadable_requests_are_400(body: bytes, content_type: str) -> None:
    with pytest.raises(InferenceError) as caught:
        decode_features(body, _ct(content_type))
    assert caught.value.status == 400


COLUMNS = [
    Column("score", np.float32([0.25, 0.4])),
    Column("predicted_label", np.float32([0, 1]), integer=True),
]


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        (
            JSON,
            b'{"predictions": [{"score": 0.25, "predicted_label": 0}, '
            b'{"score": 0.4000000059604645, "predicted_label": 1}]}',
        ),
        (
            "application/jsonlines",
            b'{"score": 0.25, "predicted_label": 0}\n'
            b'{"score": 0.4000000059604645, "predicted_label": 1}',
        ),
        (CSV, b"0.25,0\n0.4000000059604645,1"),
    ],
)
def test_responses_in_each_format(accept: str, body: bytes) -> None:
    assert encode(COLUMNS, _ct(accept)) == body


def test_recordio_responses_and_vector_columns() -> None:
    data = encode(COLUMNS, _ct("application/x-recordio-protobuf"))
    records = read_records(io.BytesIO(data))
    assert [r.label["score"].float32_tensor.values[0] for r in records] == [0.25, np.float32(0.4)]
    vectors = [Column("projection", np.float32([[1, 2], [3, 4]]))]
    assert encode(vectors, _ct(JSON), json_key="projections") == (
        b'{"projections": [{"projection": [1.0, 2.0]}, {"projection": [3.0, 4.0]}]}'
    )
    assert encode(vectors, _ct(CSV)) == b"1.0,2.0\n3.0,4.0"


class _Doubler(ModelRuntime):
    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body:
            return NO_CONTENT
        if content_type != CSV:
            raise InferenceError(415, f"no {content_type}")
        if body == b"boom":
            raise RuntimeError("model exploded")
        rows = decode_features(body, _ct(CSV))
        return Prediction(encode([Column("y", rows[:, 0] * 2)], negotiate(accept, [CSV], CSV)), CSV)


def _call(
    app: ModelServer, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []
    chunks = [body[:3], body[3:]]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start, payload = sent
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, payload["body"]


def test_model_server_contract() -> None:
    app = ModelServer(_Doubler({}))
    assert _call(app, "GET", "/ping")[0] == 200
    status, headers, body = _call(app, "POST", "/invocations", b"1,2\n3,4", content_type=CSV)
    assert (status, headers["content-type"], body) == (200, CSV, b"2.0\n6.0")
    assert headers["content-length"] == str(len(body))
    assert _call(app, "POST", "/invocations", b"", content_type=CSV)[0] == 204
    assert _call(app, "POST", "/invocations", b"1", content_type=JSON)[:3:2] == (
        415,
        b"no application/json",
    )
    assert _call(app, "POST", "/invocations", b"1", content_type=CSV, accept="image/png")[0] == 406
    assert _call(app, "POST", "/invocations", b"boom", content_type=CSV)[:3:2] == (
        500,
        b"RuntimeError: model exploded",
    )
    status, _, body = _call(app, "GET", "/execution-parameters")
    assert status == 200
    assert json.loads(body)["BatchStrategy"] == "MULTI_RECORD"
    assert json.loads(body)["MaxPayloadInMB"] == 6
    assert _call(app, "GET", "/nothing")[0] == 404
