"""Inference of the built-in PCA: SageMaker's request and response formats, byte for byte.

The model is written by hand (the documented ``model_algo-1`` arrays), so every expected
projection is worked out here: mean (1, 2, 3); component 0 = (0.5, 0.25, 0), component 1 =
(0.1, 0, 1). Row (3, 6, 3) centers to (2, 4, 0) and projects to (2.0, 0.2); row (1, 2, 4)
to (0.0, 1.0). Values are float32 written in full: 0.2f is 0.20000000298023224.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime

ROWS = b"3,6,3\n1,2,4\n"
JSON_BODY = (
    b'{"projections": [{"projection": [2.0, 0.20000000298023224]}, {"projection": [0.0, 1.0]}]}'
)
JSONLINES_BODY = b'{"projection": [2.0, 0.20000000298023224]}\n{"projection": [0.0, 1.0]}'


@pytest.fixture
def pca(tmp_path):
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(
            out,
            s=np.asarray([1.0, 2.0], np.float32),
            v=np.asarray([[0.5, 0.1], [0.25, 0.0], [0.0, 1.0]], np.float32),
            mean=np.asarray([[1.0, 2.0, 3.0]], np.float32),
        )
    return load_runtime("pca", tmp_path, {})


def _recordio(rows: list[list[float]]) -> bytes:
    from sagemaker.amazon.common import _write_recordio
    from sagemaker.amazon.record_pb2 import Record

    out = io.BytesIO()
    for row in rows:
        record = Record()
        record.label["projection"].float32_tensor.values.extend(row)
        _write_recordio(out, record.SerializeToString(deterministic=True))
    return out.getvalue()


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json", "application/json; q=1"])
def test_json_is_the_default_response(pca, accept):
    prediction = pca.invoke(ROWS, "text/csv", accept)
    assert (prediction.status, prediction.content_type) == (200, "application/json")
    assert prediction.body == JSON_BODY


def test_jsonlines_response(pca):
    prediction = pca.invoke(ROWS, "text/csv", "application/jsonlines")
    assert prediction.content_type == "application/jsonlines"
    assert prediction.body == JSONLINES_BODY


def test_recordio_protobuf_response_reads_back_with_the_sdk(pca):
    from sagemaker.amazon.common import read_records

    prediction = pca.invoke(ROWS, "text/csv", "application/x-recordio-protobuf")
    assert prediction.content_type == "application/x-recordio-protobuf"
    assert prediction.body == _recordio([[2.0, 0.2], [0.0, 1.0]])
    records = read_records(io.BytesIO(prediction.body))
    assert [list(r.label["projection"].float32_tensor.values) for r in records] == [
        [2.0, np.float32(0.2)],
        [0.0, 1.0],
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"instances": [{"features": [3, 6, 3]}, {"features": [1, 2, 4]}]}', "application/json"),
        (
            b'{"instances": [{"data": {"features": {"values": [3, 6, 3]}}},'
            b' {"data": {"features": {"values": [1, 2, 4]}}}]}',
            "application/json",
        ),
        (
            b'{"instances": [{"data": {"features": {"keys": [0, 1, 2], "shape": [3],'
            b' "values": [3, 6, 3]}}}, {"data": {"features": {"keys": [0, 1, 2], "shape": [3],'
            b' "values": [1, 2, 4]}}}]}',
            "application/json",
        ),
        (b'{"features": [3, 6, 3]}\n{"features": [1, 2, 4]}\n', "application/jsonlines"),
        (b"3,6,3\n1,2,4", "text/csv; charset=utf-8"),
    ],
)
def test_every_request_format(pca, body, content_type):
    assert pca.invoke(body, content_type, "application/json").body == JSON_BODY


def test_recordio_protobuf_request_from_the_sdk_serializer(pca):
    from sagemaker.amazon.common import RecordSerializer

    # What the SDK's PCAPredictor sends: its serializer returns a buffer to read.
    body = RecordSerializer().serialize(np.asarray([[3, 6, 3], [1, 2, 4]], np.float32)).read()
    prediction = pca.invoke(body, "application/x-recordio-protobuf", "application/jsonlines")
    assert prediction.body == JSONLINES_BODY


def test_empty_body_is_no_content(pca):
    assert pca.invoke(b"", "text/csv", "application/json").status == 204


SUPPORTED = (
    "use one of text/csv, application/json, application/jsonlines, application/x-recordio-protobuf"
)


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (
            (ROWS, "text/libsvm", None),
            415,
            f"Content type text/libsvm is not supported by this algorithm: {SUPPORTED}",
        ),
        (
            (ROWS, None, None),
            415,
            f"Content type (none) is not supported by this algorithm: {SUPPORTED}",
        ),
        (
            (ROWS, "text/csv", "text/csv"),
            406,
            "Accept type text/csv is not supported by this algorithm: use one of "
            "application/json, application/jsonlines, application/x-recordio-protobuf",
        ),
        (
            (b"3,6\n", "text/csv", None),
            400,
            "Each record needs 3 features (feature_dim); the request has 2",
        ),
        ((b"a,b,c\n", "text/csv", None), 400, "Unable to parse the text/csv request"),
        ((b"{not json", "application/json", None), 400, "Unable to parse the application/json"),
        ((b"\x00garbage", "application/x-recordio-protobuf", None), 400, "Unable to parse"),
    ],
)
def test_bad_requests(pca, call, status, message):
    with pytest.raises(InferenceError) as raised:
        pca.invoke(*call)
    assert raised.value.status == status
    assert raised.value.message.startswith(message), raised.value.message


def test_projection_of_a_trained_model_follows_v(tmp_path):
    """What a client gets is ``(x - mean) @ v``: the arrays in the artifact, nothing more."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=(4, 2)).astype(np.float32)
    mean = rng.normal(size=(1, 4)).astype(np.float32)
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(out, s=np.asarray([1.0, 2.0], np.float32), v=v, mean=mean)
    rows = rng.normal(size=(3, 4)).astype(np.float32)
    body = "\n".join(",".join(repr(float(x)) for x in row) for row in rows).encode()
    answer = json.loads(load_runtime("pca", tmp_path).invoke(body, "text/csv", None).body)
    expected = (rows.astype(np.float64) - mean) @ v.astype(np.float64)
    got = [r["projection"] for r in answer["projections"]]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
