"""Inference of the built-in Random Cut Forest: SageMaker's formats, byte for byte.

The forest is trained on the two 1-D records 0 and 1, so every tree is a root over [0, 1]
with the leaves 0 and 1 at depth 1, and scores follow by hand from AWS's formula, whatever
the cuts (tree mass 2, so each tree's score is scaled by log2(3)):

- 3 lies outside the root's box: p = 2/3 at depth 0, then an unseen leaf at depth 1,
  2/3 * 1 + 1/3 * 1/2 = 5/6;
- -1: p = 1/2, then 1/2 * 1 + 1/2 * 1/2 = 3/4;
- 0.5 is inside the box and not a leaf point: 1/2;
- 0 is the leaf's own point (mass 1): (1 - 1/4) / (1 + log2(2)) = 3/8.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from tests.algorithms._support import Channel, failure, instance, runtime, train

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.runtime import ModelRuntime

ROWS = b"3\n0\n0.5\n-1\n"
SCORES = [float(np.float32(v * np.log2(3.0))) for v in (5 / 6, 3 / 8, 1 / 2, 3 / 4)]
JSON_BODY = (
    b'{"scores": [{"score": 1.320802092552185}, {"score": 0.5943609476089478}, '
    b'{"score": 0.7924812436103821}, {"score": 1.1887218952178955}]}'
)
JSONLINES_BODY = (
    b'{"score": 1.320802092552185}\n{"score": 0.5943609476089478}\n'
    b'{"score": 0.7924812436103821}\n{"score": 1.1887218952178955}'
)
CSV_BODY = b"1.320802092552185\n0.5943609476089478\n0.7924812436103821\n1.1887218952178955"
PROTOBUF = "application/x-recordio-protobuf"


@pytest.fixture(scope="module")
def rcf(tmp_path_factory: pytest.TempPathFactory) -> ModelRuntime:
    root = instance(
        tmp_path_factory.mktemp("rcf"),
        {"feature_dim": 1, "num_trees": 50},
        train=Channel({"train.csv": b"0\n1\n"}, "text/csv;label_size=0"),
    )
    assert train("randomcutforest", root) == 0, failure(root)
    return runtime("randomcutforest", root)


def _recordio(scores: list[float]) -> bytes:
    from sagemaker.amazon.common import _write_recordio
    from sagemaker.amazon.record_pb2 import Record

    out = io.BytesIO()
    for score in scores:
        record = Record()
        record.label["score"].float32_tensor.values.append(score)
        _write_recordio(out, record.SerializeToString(deterministic=True))
    return out.getvalue()


def test_the_hand_computed_scores_are_the_documented_json():
    assert json.loads(JSON_BODY) == {"scores": [{"score": s} for s in SCORES]}


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_json_is_the_default_response(rcf, accept):
    prediction = rcf.invoke(ROWS, "text/csv", accept)
    assert (prediction.status, prediction.content_type) == (200, "application/json")
    assert prediction.body == JSON_BODY


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("application/jsonlines", JSONLINES_BODY),
        ("text/csv", CSV_BODY),
        ("application/x-recordio-protobuf", _recordio(SCORES)),
        ("text/html, application/jsonlines;q=0.9", JSONLINES_BODY),
    ],
)
def test_every_documented_response_type(rcf, accept, body):
    prediction = rcf.invoke(ROWS, "text/csv", accept)
    assert prediction.body == body
    assert prediction.content_type == accept.split(",")[-1].split(";")[0].strip()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", ROWS),
        ("text/csv;label_size=1", b"9,3\n9,0\n9,0.5\n9,-1\n"),
        (
            "application/json",
            b'{"instances": [{"features": [3]}, {"features": [0]}, '
            b'{"data": {"features": {"values": [0.5]}}}, {"features": [-1]}]}',
        ),
        (
            "application/jsonlines",
            b'{"features": [3]}\n{"features": [0]}\n'
            b'{"data": {"features": {"values": [0.5]}}}\n{"features": [-1.0]}\n',
        ),
        (
            "application/json",
            b'{"instances": [{"data": {"features": {"keys": [0], '
            b'"shape": [1], "values": [3]}}}, {"data": {"features": {"keys": [], "shape": [1], '
            b'"values": []}}}, {"features": [0.5]}, {"features": [-1]}]}',
        ),
    ],
)
def test_every_documented_request_type(rcf, content_type, body):
    assert rcf.invoke(body, content_type, "application/json").body == JSON_BODY


def test_the_sdk_predictor_round_trip(rcf):
    from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

    # RandomCutForestPredictor's defaults: RecordIO-protobuf both ways.
    body = RecordSerializer().serialize(np.asarray([[3], [0], [0.5], [-1]], np.float32)).read()
    prediction = rcf.invoke(body, PROTOBUF, PROTOBUF)
    assert prediction.body == _recordio(SCORES)
    records = RecordDeserializer().deserialize(io.BytesIO(prediction.body), PROTOBUF)
    assert [r.label["score"].float32_tensor.values[0] for r in records] == pytest.approx(SCORES)


def test_empty_body_is_no_content(rcf):
    assert rcf.invoke(b"", "text/csv", None).status == 204
    assert rcf.invoke(b"\n", "application/json", None).status == 204


@pytest.mark.parametrize(
    "case",
    [
        (ROWS, "text/libsvm", None, 415, "Content type text/libsvm is not supported"),
        (ROWS, "image/png", None, 415, "use one of text/csv, application/json"),
        (ROWS, "text/csv", "text/html", 406, "Accept type text/html is not supported"),
        (
            b"1,2\n",
            "text/csv",
            None,
            400,
            "Each record needs 1 features (feature_dim); the request has 2",
        ),
        (b"a,b\n", "text/csv", None, 400, "Unable to parse the text/csv request"),
        (b"{not json", "application/json", None, 400, "Unable to parse the application/json"),
        (b"\x00\x01garbage", PROTOBUF, None, 400, "Unable to parse the application/x-recordio"),
        (b"nan\n", "text/csv", None, 400, "missing, NaN or infinite feature values"),
        (ROWS, "text/csv;label_size=x", None, 400, "label_size=x is not an integer"),
    ],
)
def test_bad_requests(rcf, case):
    body, content_type, accept, status, message = case
    with pytest.raises(InferenceError) as caught:
        rcf.invoke(body, content_type, accept)
    assert caught.value.status == status
    assert message in caught.value.message
