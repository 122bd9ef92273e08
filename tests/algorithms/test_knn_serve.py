"""Inference of the built-in k-NN: SageMaker's request and response formats, byte for byte.

The model is written by hand (the documented ``model_algo-1`` archive): five 2-D points
(0, 0) (1, 0) (0, 2) labelled 0, 1, 1 and (5, 5) (6, 5) labelled 2, with k = 3. Row (0, 0)
has neighbours at 0, 1 and 2 with labels 0, 1, 1, so the vote is 1; row (5, 4) has them at
1, sqrt(2) and sqrt(29) (1.4142135381698608 and 5.385164737701416 as float32 written in
full) with labels 2, 2, 1, so the vote is 2. A regressor averages: (0 + 1 + 1) / 3 and
(2 + 2 + 1) / 3 as float32.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime
from sagebrush.algorithms.serving.runtime import ModelRuntime

ROWS = b"0,0\n5,4\n"
PROTOBUF = "application/x-recordio-protobuf"
JSON_BODY = b'{"predictions": [{"predicted_label": 1.0}, {"predicted_label": 2.0}]}'
VERBOSE = [
    b'{"predicted_label": 1.0, "distances": [0.0, 1.0, 2.0], "labels": [0.0, 1.0, 1.0]}',
    b'{"predicted_label": 2.0, "distances": [1.0, 1.4142135381698608, 5.385164737701416], '
    b'"labels": [2.0, 2.0, 1.0]}',
]
VERBOSE_JSON_BODY = b'{"predictions": [' + b", ".join(VERBOSE) + b"]}"
JSONLINES_BODY = b'{"predicted_label": 1.0}\n{"predicted_label": 2.0}'
NEIGHBOURS = [([0.0, 1.0, 2.0], [0.0, 1.0, 1.0]), ([1.0, 2**0.5, 29**0.5], [2.0, 2.0, 1.0])]


def _model(tmp_path, predictor_type: str) -> ModelRuntime:
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(
            out,
            features=np.asarray([[0, 0], [1, 0], [0, 2], [5, 5], [6, 5]], np.float32),
            labels=np.asarray([0, 1, 1, 2, 2], np.float32),
            projection=np.empty((0, 0), np.float32),
            k=np.int64(3),
            predictor_type=np.str_(predictor_type),
            index_metric=np.str_("L2"),
            feature_dim=np.int64(2),
        )
    return load_runtime("knn", tmp_path, {})


@pytest.fixture
def classifier(tmp_path):
    return _model(tmp_path, "classifier")


def _recordio(predicted: list[float], verbose: bool) -> bytes:
    from sagemaker.amazon.common import _write_recordio
    from sagemaker.amazon.record_pb2 import Record

    out = io.BytesIO()
    for label, (distances, labels) in zip(predicted, NEIGHBOURS, strict=True):
        record = Record()
        record.label["predicted_label"].float32_tensor.values.append(label)
        if verbose:
            record.label["distances"].float32_tensor.values.extend(distances)
            record.label["labels"].float32_tensor.values.extend(labels)
        _write_recordio(out, record.SerializeToString(deterministic=True))
    return out.getvalue()


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_json_is_the_default_response(classifier, accept):
    prediction = classifier.invoke(ROWS, "text/csv", accept)
    assert (prediction.status, prediction.content_type) == (200, "application/json")
    assert prediction.body == JSON_BODY


@pytest.mark.parametrize(
    ("accept", "media", "body"),
    [
        ("application/json; verbose=true", "application/json", VERBOSE_JSON_BODY),
        ("application/json;verbose=True", "application/json", VERBOSE_JSON_BODY),
        ("application/json; verbose=false", "application/json", JSON_BODY),
        ("application/jsonlines", "application/jsonlines", JSONLINES_BODY),
        ("application/jsonlines; verbose=true", "application/jsonlines", b"\n".join(VERBOSE)),
        (PROTOBUF, PROTOBUF, _recordio([1.0, 2.0], verbose=False)),
        (f"{PROTOBUF}; verbose=true", PROTOBUF, _recordio([1.0, 2.0], verbose=True)),
    ],
)
def test_every_documented_response_type(classifier, accept, media, body):
    prediction = classifier.invoke(ROWS, "text/csv", accept)
    assert (prediction.content_type, prediction.body) == (media, body)


def test_regressor_answers_the_mean_label(tmp_path):
    regressor = _model(tmp_path, "regressor")
    expected = b'{"predictions": [{"predicted_label": 0.6666666865348816}, '
    expected += b'{"predicted_label": 1.6666666269302368}]}'
    assert float(np.float32(2 / 3)) == 0.6666666865348816
    assert float(np.float32(5 / 3)) == 1.6666666269302368
    assert regressor.invoke(ROWS, "text/csv", "application/json").body == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", ROWS),
        ("text/csv; label_size=1", b"7,0,0\n7,5,4\n"),
        ("application/json", b'{"instances": [{"features": [0, 0]}, {"features": [5.0, 4.0]}]}'),
        (
            "application/json",
            b'{"instances": [{"data": {"features": {"values": [0, 0]}}}, '
            b'{"data": {"features": {"values": [5, 4]}}}]}',
        ),
        (
            "application/json",
            b'{"instances": [{"data": {"features": {"keys": [], "shape": [2], "values": []}}}, '
            b'{"data": {"features": {"keys": [0, 1], "shape": [2], "values": [5, 4]}}}]}',
        ),
        (
            "application/jsonlines",
            b'{"features": [0, 0]}\n{"data": {"features": {"values": [5, 4]}}}\n',
        ),
    ],
)
def test_every_documented_request_type(classifier, content_type, body):
    assert classifier.invoke(body, content_type, "application/json").body == JSON_BODY


def test_the_sdk_predictor_round_trip(classifier):
    from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

    # KNNPredictor's defaults: RecordIO-protobuf both ways.
    body = RecordSerializer().serialize(np.asarray([[0, 0], [5, 4]], np.float32)).read()
    prediction = classifier.invoke(body, PROTOBUF, PROTOBUF)
    assert prediction.body == _recordio([1.0, 2.0], verbose=False)
    records = RecordDeserializer().deserialize(io.BytesIO(prediction.body), PROTOBUF)
    assert [r.label["predicted_label"].float32_tensor.values[0] for r in records] == [1.0, 2.0]


def test_a_projection_applies_to_requests(tmp_path):
    # Two 3-D points reduced to 1-D by keeping the first coordinate, as the artifact says.
    with (tmp_path / "model_algo-1").open("wb") as out:
        np.savez(
            out,
            features=np.asarray([[0.0], [10.0]], np.float32),
            labels=np.asarray([4, 9], np.float32),
            projection=np.asarray([[1, 0, 0]], np.float32),
            k=np.int64(1),
            predictor_type=np.str_("classifier"),
            index_metric=np.str_("L2"),
            feature_dim=np.int64(3),
        )
    runtime = load_runtime("knn", tmp_path, {})
    prediction = runtime.invoke(b"9,-50,50\n", "text/csv", "application/json;verbose=true")
    assert prediction.body == (
        b'{"predictions": [{"predicted_label": 9.0, "distances": [1.0], "labels": [9.0]}]}'
    )


def test_empty_body_is_no_content(classifier):
    assert classifier.invoke(b"", "text/csv", None).status == 204
    assert classifier.invoke(b" \n", "application/jsonlines", None).status == 204


@pytest.mark.parametrize(
    "case",
    [
        (ROWS, "text/libsvm", None, 415, "Content type text/libsvm is not supported"),
        (ROWS, "application/x-parquet", None, 415, "use one of text/csv, application/json"),
        (ROWS, "text/csv", "text/csv", 406, "Accept type text/csv is not supported"),
        (
            b"1,2,3\n",
            "text/csv",
            None,
            400,
            "Each record needs 2 features (feature_dim); the request has 3",
        ),
        (b"x,y\n", "text/csv", None, 400, "Unable to parse the text/csv request"),
        (b'{"instances": 5}', "application/json", None, 400, "'instances' must be a list"),
        (b"\x00\x01garbage", PROTOBUF, None, 400, "Unable to parse the application/x-recordio"),
        (b"inf,0\n", "text/csv", None, 400, "missing, NaN or infinite feature values"),
        (ROWS, "text/csv;label_size=one", None, 400, "label_size=one is not an integer"),
    ],
)
def test_bad_requests(classifier, case):
    body, content_type, accept, status, message = case
    with pytest.raises(InferenceError) as caught:
        classifier.invoke(body, content_type, accept)
    assert caught.value.status == status
    assert message in caught.value.message
