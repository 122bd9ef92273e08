"""Inference of the built-in K-Means: SageMaker's request and response formats, byte for byte.

The model is written by hand (the documented ``model_algo-1`` array): centers (0, 0) and
(3, 4). Row (3, 4) is center 1 at distance 0; row (0, 1) center 0 at distance 1; row
(1, 1) center 0 at distance sqrt(2), which as float32 written in full is
1.4142135381698608. The cluster index is a float too, as SageMaker writes it (1.0).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime

ROWS = b"3,4\n0,1\n1,1\n"
ANSWERS = [(1.0, 0.0), (0.0, 1.0), (0.0, 1.4142135381698608)]
JSON_BODY = (
    b'{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 0.0}, '
    b'{"closest_cluster": 0.0, "distance_to_cluster": 1.0}, '
    b'{"closest_cluster": 0.0, "distance_to_cluster": 1.4142135381698608}]}'
)
JSONLINES_BODY = (
    b'{"closest_cluster": 1.0, "distance_to_cluster": 0.0}\n'
    b'{"closest_cluster": 0.0, "distance_to_cluster": 1.0}\n'
    b'{"closest_cluster": 0.0, "distance_to_cluster": 1.4142135381698608}'
)
CSV_BODY = b"1.0,0.0\n0.0,1.0\n0.0,1.4142135381698608"


@pytest.fixture
def kmeans(tmp_path):
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(out, centers=np.asarray([[0.0, 0.0], [3.0, 4.0]], np.float32))
    return load_runtime("kmeans", tmp_path, {})


def _recordio(answers: list[tuple[float, float]]) -> bytes:
    from sagemaker.amazon.common import _write_recordio
    from sagemaker.amazon.record_pb2 import Record

    out = io.BytesIO()
    for cluster, distance in answers:
        record = Record()
        record.label["closest_cluster"].float32_tensor.values.append(cluster)
        record.label["distance_to_cluster"].float32_tensor.values.append(distance)
        _write_recordio(out, record.SerializeToString(deterministic=True))
    return out.getvalue()


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_json_is_the_default_response(kmeans, accept):
    prediction = kmeans.invoke(ROWS, "text/csv", accept)
    assert (prediction.status, prediction.content_type) == (200, "application/json")
    assert prediction.body == JSON_BODY


@pytest.mark.parametrize(
    ("accept", "body"),
    [("application/jsonlines", JSONLINES_BODY), ("text/csv", CSV_BODY)],
)
def test_jsonlines_and_csv_responses(kmeans, accept, body):
    prediction = kmeans.invoke(ROWS, "text/csv", accept)
    assert (prediction.content_type, prediction.body) == (accept, body)


def test_recordio_protobuf_response_is_what_the_sdk_predictor_reads(kmeans):
    from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

    # KMeansPredictor's defaults: RecordIO-protobuf both ways.
    body = RecordSerializer().serialize(np.asarray([[3, 4], [0, 1], [1, 1]], np.float32)).read()
    prediction = kmeans.invoke(
        body, "application/x-recordio-protobuf", "application/x-recordio-protobuf"
    )
    assert prediction.content_type == "application/x-recordio-protobuf"
    assert prediction.body == _recordio(ANSWERS)
    records = RecordDeserializer().deserialize(io.BytesIO(prediction.body), prediction.content_type)
    read = [
        (
            r.label["closest_cluster"].float32_tensor.values[0],
            r.label["distance_to_cluster"].float32_tensor.values[0],
        )
        for r in records
    ]
    assert read == ANSWERS


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'{"instances": [{"features": [3, 4]}, {"features": [0, 1]}, {"features": [1, 1]}]}',
            "application/json",
        ),
        (
            b'{"instances": [{"data": {"features": {"values": [3, 4]}}},'
            b' {"data": {"features": {"values": [0, 1]}}},'
            b' {"data": {"features": {"keys": [0, 1], "shape": [2], "values": [1, 1]}}}]}',
            "application/json",
        ),
        (b"[3, 4]\n[0, 1]\n[1, 1]\n", "application/jsonlines"),
        (b"3,4\r\n0,1\r\n1,1", "text/csv"),
    ],
)
def test_every_request_format(kmeans, body, content_type):
    assert kmeans.invoke(body, content_type, "application/json").body == JSON_BODY


def test_empty_body_is_no_content(kmeans):
    assert kmeans.invoke(b"", "text/csv", None).status == 204


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (
            (ROWS, "text/plain", None),
            415,
            "Content type text/plain is not supported by this algorithm: use one of text/csv, "
            "application/json, application/jsonlines, application/x-recordio-protobuf",
        ),
        (
            (ROWS, "text/csv", "text/html"),
            406,
            "Accept type text/html is not supported by this algorithm: use one of "
            "application/json, application/jsonlines, application/x-recordio-protobuf, text/csv",
        ),
        (
            (b"1,2,3\n", "text/csv", None),
            400,
            "Each record needs 2 features (feature_dim); the request has 3",
        ),
        ((b"1,x\n", "text/csv", None), 400, "Unable to parse the text/csv request"),
        ((b'{"instances": 3}', "application/json", None), 400, "Unable to parse"),
        ((b"garbage", "application/x-recordio-protobuf", None), 400, "Unable to parse"),
    ],
)
def test_bad_requests(kmeans, call, status, message):
    with pytest.raises(InferenceError) as raised:
        kmeans.invoke(*call)
    assert raised.value.status == status
    assert raised.value.message.startswith(message), raised.value.message


def test_assignments_of_many_rows_match_a_brute_force_search(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 8)).astype(np.float32)
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(out, centers=centers)
    rows = rng.normal(size=(300, 8)).astype(np.float32)
    body = "\n".join(",".join(repr(float(x)) for x in row) for row in rows).encode()
    answer = load_runtime("kmeans", tmp_path).invoke(body, "text/csv", "text/csv").body
    got = np.loadtxt(io.StringIO(answer.decode()), delimiter=",")
    distances = np.sqrt(((rows[:, None, :] - centers[None]).astype(np.float64) ** 2).sum(axis=2))
    np.testing.assert_array_equal(got[:, 0], distances.argmin(axis=1))
    np.testing.assert_allclose(got[:, 1], distances.min(axis=1), rtol=1e-6)
